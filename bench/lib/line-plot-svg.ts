/**
 * A plain SVG line plot: several series over one x axis, one linear y axis,
 * optional shaded x ranges (a phase such as "flood"). No library: the bench
 * writes what it measured and a reader opens the file in a browser.
 */

import { escapeXml, fixed, svgOpening } from "./svg.ts";

export interface LineSeries {
  label: string;
  color: string;
  /** [x, y] points; a null y is no sample there, and the line joins the samples either side. */
  points: ReadonlyArray<readonly [number, number | null]>;
  dashed?: boolean;
}

export interface LinePlotOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Shaded ranges of x, each with a label at its top. */
  bands?: ReadonlyArray<{ from: number; to: number; label: string }>;
  /** Inclusive y range; default: the data's, widened to whole numbers. */
  yRange?: readonly [number, number];
}

const WIDTH = 900;
const HEIGHT = 420;
const MARGIN = { top: 64, right: 240, bottom: 48, left: 64 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** About `count` round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count || 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(6)));
  return out;
}

export function svgLinePlot(options: LinePlotOptions): string {
  const xs = options.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = options.series.flatMap((s) => s.points.flatMap(([, y]) => (y === null ? [] : [y])));
  const xLo = Math.min(...xs);
  const xHi = Math.max(...xs);
  const [yLo, yHi] = options.yRange ?? [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))];
  const x = (v: number) => MARGIN.left + ((v - xLo) / (xHi - xLo || 1)) * PLOT_W;
  const y = (v: number) => MARGIN.top + PLOT_H - ((v - yLo) / (yHi - yLo || 1)) * PLOT_H;
  const bottom = MARGIN.top + PLOT_H;

  const parts: string[] = [
    ...svgOpening(WIDTH, HEIGHT, options.title),
    `<text x="${MARGIN.left}" y="22" font-size="14">${escapeXml(options.title)}</text>`,
  ];
  if (options.subtitle) parts.push(`<text x="${MARGIN.left}" y="40">${escapeXml(options.subtitle)}</text>`);
  for (const band of options.bands ?? []) {
    parts.push(
      `<rect x="${fixed(x(band.from))}" y="${MARGIN.top}" width="${fixed(x(band.to) - x(band.from))}" height="${PLOT_H}" fill="#fdebd0"/>`,
      `<text x="${fixed((x(band.from) + x(band.to)) / 2)}" y="${MARGIN.top + 14}" text-anchor="middle" fill="#a04000">${escapeXml(band.label)}</text>`,
    );
  }
  for (const v of ticks(yLo, yHi, 8)) {
    parts.push(
      `<line x1="${MARGIN.left - 4}" y1="${fixed(y(v))}" x2="${MARGIN.left + PLOT_W}" y2="${fixed(y(v))}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${fixed(y(v) + 4)}" text-anchor="end">${v}</text>`,
    );
  }
  for (const v of ticks(xLo, xHi, 8)) {
    parts.push(
      `<line x1="${fixed(x(v))}" y1="${bottom}" x2="${fixed(x(v))}" y2="${bottom + 4}" stroke="black"/>`,
      `<text x="${fixed(x(v))}" y="${bottom + 16}" text-anchor="middle">${v}</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" y1="${bottom}" x2="${MARGIN.left + PLOT_W}" y2="${bottom}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}" stroke="black"/>`,
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text x="16" y="${MARGIN.top + PLOT_H / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + PLOT_H / 2})">${escapeXml(options.yLabel)}</text>`,
  );
  options.series.forEach((series, i) => {
    let path = "";
    for (const [px, py] of series.points) {
      if (py === null) continue;
      path += `${path === "" ? "M" : "L"}${fixed(x(px))} ${fixed(y(py))} `;
    }
    parts.push(
      `<path class="series" data-label="${escapeXml(series.label)}" d="${path.trim()}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
    const ly = MARGIN.top + 10 + i * 20;
    const lx = MARGIN.left + PLOT_W + 14;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escapeXml(series.label)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
