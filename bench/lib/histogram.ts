/**
 * Latency summaries for the benches: percentiles (nearest-rank), a
 * log-scale histogram (latencies span decades: a warm verification is tens
 * of microseconds, a cold one with a JWKS fetch milliseconds), and two
 * renderings of it: ASCII for the terminal and a self-contained SVG.
 */

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in [0, 100]). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export interface Bucket {
  /** Inclusive lower edge, in the samples' unit. */
  from: number;
  /** Exclusive upper edge (the last bucket includes the maximum). */
  to: number;
  count: number;
}

/** `buckets` log-spaced buckets from the smallest to the largest sample. */
export function logHistogram(samples: readonly number[], buckets = 24): Bucket[] {
  const positive = samples.filter((s) => s > 0);
  if (positive.length === 0) return [];
  const lo = Math.min(...positive);
  const hi = Math.max(...positive);
  if (lo === hi) return [{ from: lo, to: hi, count: positive.length }];
  const ratio = (hi / lo) ** (1 / buckets);
  const result: Bucket[] = Array.from({ length: buckets }, (_, i) => ({
    from: lo * ratio ** i,
    to: lo * ratio ** (i + 1),
    count: 0,
  }));
  for (const sample of positive) {
    const index = Math.min(buckets - 1, Math.floor(Math.log(sample / lo) / Math.log(ratio)));
    result[index]!.count++;
  }
  return result;
}

/** Milliseconds as a short human string (µs below 1 ms). */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 0)}µs`;
  if (ms < 100) return `${ms.toFixed(2)}ms`;
  return `${ms.toFixed(0)}ms`;
}

/** One line per non-empty bucket range, bars scaled to `width`; marks the budget line. */
export function asciiHistogram(
  buckets: readonly Bucket[],
  options: { width?: number; budgetMs?: number } = {},
): string {
  const width = options.width ?? 50;
  const peak = Math.max(1, ...buckets.map((b) => b.count));
  const first = buckets.findIndex((b) => b.count > 0);
  const last = buckets.length - 1 - [...buckets].reverse().findIndex((b) => b.count > 0);
  if (first === -1) return "  (no samples)";
  const lines: string[] = [];
  let budgetMarked = options.budgetMs === undefined;
  for (const bucket of buckets.slice(first, last + 1)) {
    if (!budgetMarked && bucket.from >= options.budgetMs!) {
      lines.push(`  ${"-".repeat(21)} budget ${formatMs(options.budgetMs!)} ${"-".repeat(20)}`);
      budgetMarked = true;
    }
    const label = `${formatMs(bucket.from).padStart(8)} – ${formatMs(bucket.to).padEnd(8)}`;
    const bar = "#".repeat(bucket.count === 0 ? 0 : Math.max(1, Math.round((bucket.count / peak) * width)));
    lines.push(`  ${label} |${bar} ${bucket.count}`);
  }
  return lines.join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A standalone SVG bar chart of the histogram, with p50/p99 and the budget noted in the title. */
export function svgHistogram(
  buckets: readonly Bucket[],
  options: { title: string; summary: LatencySummary; budgetMs?: number },
): string {
  const width = 760;
  const height = 360;
  const margin = { top: 56, right: 20, bottom: 64, left: 56 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const peak = Math.max(1, ...buckets.map((b) => b.count));
  const barW = buckets.length === 0 ? 0 : plotW / buckets.length;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="14">${escapeXml(options.title)}</text>`,
    `<text x="${margin.left}" y="40">${escapeXml(
      `n=${options.summary.count}  p50=${formatMs(options.summary.p50)}  p95=${formatMs(options.summary.p95)}  p99=${formatMs(options.summary.p99)}  max=${formatMs(options.summary.max)}${options.budgetMs === undefined ? "" : `  budget=${formatMs(options.budgetMs)}`}`,
    )}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<text x="${margin.left - 6}" y="${margin.top + 4}" text-anchor="end">${peak}</text>`,
    `<text x="${margin.left - 6}" y="${margin.top + plotH}" text-anchor="end">0</text>`,
  ];
  buckets.forEach((bucket, i) => {
    const h = (bucket.count / peak) * plotH;
    const x = margin.left + i * barW;
    const over = options.budgetMs !== undefined && bucket.from >= options.budgetMs;
    parts.push(
      `<rect x="${(x + 1).toFixed(1)}" y="${(margin.top + plotH - h).toFixed(1)}" width="${Math.max(0, barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${over ? "#c0392b" : "#2e86c1"}"><title>${escapeXml(`${formatMs(bucket.from)}–${formatMs(bucket.to)}: ${bucket.count}`)}</title></rect>`,
    );
    if (i % 4 === 0) {
      const lx = x + barW / 2;
      const ly = margin.top + plotH + 14;
      parts.push(
        `<text x="${lx.toFixed(1)}" y="${ly}" text-anchor="end" transform="rotate(-35 ${lx.toFixed(1)} ${ly})">${escapeXml(formatMs(bucket.from))}</text>`,
      );
    }
  });
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 8}" text-anchor="middle">latency (log scale)</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
