/**
 * The latency histogram as a standalone SVG (bench/out/verify-budget.svg).
 *
 * Both axes are logarithmic. Latency, because a warm verification takes
 * tens of microseconds and the slow tail milliseconds. Count, because the
 * tail is what a budget is about: on a linear axis ten slow samples beside
 * 20 000 fast ones are a bar a fraction of a pixel tall, i.e. invisible.
 * The budget is a dashed vertical line, and the latency axis is widened to
 * include it, so a budget far above every sample shows as the margin it is.
 */
import { type Bucket, formatMs, type LatencySummary } from "./histogram.ts";
import { escapeXml, fixed, svgOpening } from "./svg.ts";

export interface SvgHistogramOptions {
  title: string;
  summary: LatencySummary;
  budgetMs?: number;
}

const WIDTH = 760;
const HEIGHT = 380;
const MARGIN = { top: 60, right: 24, bottom: 64, left: 64 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const BAR_COLOR = "#2e86c1";
const OVER_BUDGET_COLOR = "#c0392b";

/** Maps a latency (ms) to x on a log axis spanning `[lo, hi]`. */
function latencyAxis(lo: number, hi: number): (ms: number) => number {
  const span = Math.log(hi / lo) || 1;
  return (ms) => MARGIN.left + (Math.log(ms / lo) / span) * PLOT_W;
}

/** Maps a count to a bar height on a log axis: log(1 + count), so 1 is visible and 0 is nothing. */
function countAxis(peak: number): (count: number) => number {
  const top = Math.log10(1 + peak) || 1;
  return (count) => (Math.log10(1 + count) / top) * PLOT_H;
}

/** 1, 10, 100, ... up to the peak, with their heights. */
function countTicks(peak: number, height: (count: number) => number): string[] {
  const ticks: string[] = [];
  for (let count = 1; count <= peak; count *= 10) {
    const y = MARGIN.top + PLOT_H - height(count);
    ticks.push(
      `<line x1="${MARGIN.left - 4}" y1="${fixed(y)}" x2="${MARGIN.left + PLOT_W}" y2="${fixed(y)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${fixed(y + 4)}" text-anchor="end">${count}</text>`,
    );
  }
  return ticks;
}

function budgetLine(budgetMs: number, x: number): string[] {
  const label = `budget ${formatMs(budgetMs)}`;
  // The label sits left of the line when the line is near the right edge.
  const anchor = x > MARGIN.left + PLOT_W - 90 ? "end" : "start";
  const labelX = anchor === "end" ? x - 4 : x + 4;
  return [
    `<line class="budget" x1="${fixed(x)}" y1="${MARGIN.top - 6}" x2="${fixed(x)}" y2="${MARGIN.top + PLOT_H}" stroke="${OVER_BUDGET_COLOR}" stroke-width="2" stroke-dasharray="6 4"/>`,
    `<text x="${fixed(labelX)}" y="${MARGIN.top + 6}" text-anchor="${anchor}" fill="${OVER_BUDGET_COLOR}">${escapeXml(label)}</text>`,
  ];
}

/** A standalone SVG bar chart of the histogram, with its summary, the budget line and log axes. */
export function svgHistogram(buckets: readonly Bucket[], options: SvgHistogramOptions): string {
  const { summary, budgetMs } = options;
  const edges = buckets.flatMap((b) => [b.from, b.to]).filter((ms) => ms > 0);
  if (budgetMs !== undefined) edges.push(budgetMs);
  const lo = edges.length === 0 ? 1 : Math.min(...edges);
  const hi = edges.length === 0 ? 10 : Math.max(...edges);
  // A little room on both sides so the first bar and the budget line do not sit on the frame.
  const x = latencyAxis(lo / 1.15, hi * 1.15);
  const peak = Math.max(1, ...buckets.map((b) => b.count));
  const height = countAxis(peak);
  const baseline = MARGIN.top + PLOT_H;
  const stats = `n=${summary.count}  p50=${formatMs(summary.p50)}  p95=${formatMs(summary.p95)}  p99=${formatMs(summary.p99)}  max=${formatMs(summary.max)}${budgetMs === undefined ? "" : `  budget=${formatMs(budgetMs)}`}`;

  const parts: string[] = [
    ...svgOpening(WIDTH, HEIGHT, options.title),
    `<text x="${MARGIN.left}" y="22" font-size="14">${escapeXml(options.title)}</text>`,
    `<text x="${MARGIN.left}" y="40">${escapeXml(stats)}</text>`,
    ...countTicks(peak, height),
    `<line x1="${MARGIN.left}" y1="${baseline}" x2="${MARGIN.left + PLOT_W}" y2="${baseline}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${baseline}" stroke="black"/>`,
    `<text x="16" y="${MARGIN.top + PLOT_H / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + PLOT_H / 2})">count (log scale)</text>`,
  ];
  buckets.forEach((bucket, i) => {
    const left = x(bucket.from);
    const width = Math.max(1, x(bucket.to) - left - 1);
    const h = height(bucket.count);
    const over = budgetMs !== undefined && bucket.from >= budgetMs;
    const tip = `${formatMs(bucket.from)}–${formatMs(bucket.to)}: ${bucket.count}`;
    parts.push(
      `<rect class="bar" data-count="${bucket.count}" x="${fixed(left)}" y="${fixed(baseline - h)}" width="${fixed(width)}" height="${fixed(h)}" fill="${over ? OVER_BUDGET_COLOR : BAR_COLOR}"><title>${escapeXml(tip)}</title></rect>`,
    );
    // Counts over the bars: the tail's few samples are the numbers a reader wants.
    if (bucket.count > 0) {
      parts.push(
        `<text x="${fixed(left + width / 2)}" y="${fixed(baseline - h - 3)}" text-anchor="middle" font-size="9">${bucket.count}</text>`,
      );
    }
    if (i % 4 === 0) {
      const lx = left + width / 2;
      const ly = baseline + 14;
      parts.push(
        `<text x="${fixed(lx)}" y="${ly}" text-anchor="end" transform="rotate(-35 ${fixed(lx)} ${ly})">${escapeXml(formatMs(bucket.from))}</text>`,
      );
    }
  });
  if (budgetMs !== undefined) parts.push(...budgetLine(budgetMs, x(budgetMs)));
  parts.push(
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 8}" text-anchor="middle">latency (log scale)</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
