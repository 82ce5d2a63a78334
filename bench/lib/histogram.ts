/**
 * Latency summaries for the benches: percentiles (nearest-rank), a
 * log-scale histogram (latencies span decades: a warm verification is tens
 * of microseconds, a cold one with a JWKS fetch milliseconds), and two
 * renderings of it: ASCII for the terminal and a self-contained SVG
 * (`histogram-svg.ts`).
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
  // A budget above the slowest sample is still shown, below the bars, so the margin is visible.
  if (!budgetMarked)
    lines.push(`  ${"-".repeat(21)} budget ${formatMs(options.budgetMs!)} ${"-".repeat(20)}`);
  return lines.join("\n");
}
