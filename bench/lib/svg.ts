/** What the bench's SVG charts share: escaping, and an opening tag that names the chart for screen readers. */

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Two decimals would be noise at these sizes; one keeps the files small and stable. */
export const fixed = (n: number) => n.toFixed(1);

/**
 * The `<svg>` opening tag, a `<title>` (the accessible name: SVG 2 §5.9, and
 * what biome's a11y rule asks of every SVG), and the white background.
 */
export function svgOpening(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
}
