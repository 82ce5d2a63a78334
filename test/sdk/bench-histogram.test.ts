import { describe, expect, test } from "bun:test";
import { asciiHistogram, formatMs, logHistogram, percentile, summarize } from "../../bench/lib/histogram.ts";
import { svgHistogram } from "../../bench/lib/histogram-svg.ts";
import { svgLinePlot } from "../../bench/lib/line-plot-svg.ts";

/** The bars of an SVG histogram: count, x, width and height, as drawn. */
function barsOf(svg: string) {
  return [
    ...svg.matchAll(
      /<rect class="bar" data-count="(\d+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="([\d.]+)"/g,
    ),
  ].map((m) => ({ count: Number(m[1]), x: Number(m[2]), width: Number(m[3]), height: Number(m[4]) }));
}

function budgetLineX(svg: string): number | undefined {
  const match = /<line class="budget" x1="([\d.]+)"/.exec(svg);
  return match ? Number(match[1]) : undefined;
}

/** 20 000 fast verifications and a slow tail of three, as a warm run on a busy machine looks. */
const warmRun = [...Array.from({ length: 20_000 }, (_, i) => 0.03 + (i % 50) / 2000), 2.5, 4, 6];

describe("bench latency summaries", () => {
  test("nearest-rank percentiles (the definition NIST and most load tools use)", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([3, 1, 2])).toMatchObject({ count: 3, min: 1, p50: 2, max: 3, mean: 2 });
  });

  test("the log histogram keeps every sample and spans min to max", () => {
    const samples = [0.02, 0.03, 0.05, 0.08, 0.1, 0.1, 0.2, 1.5, 12];
    const buckets = logHistogram(samples, 10);
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(samples.length);
    expect(buckets[0]!.from).toBeCloseTo(0.02);
    expect(buckets.at(-1)!.to).toBeCloseTo(12);
    expect(logHistogram([])).toEqual([]);
    expect(logHistogram([1, 1])).toEqual([{ from: 1, to: 1, count: 2 }]);
  });

  test("the ASCII rendering marks the budget line; the SVG is one well-formed document", () => {
    const samples = [0.05, 0.06, 0.07, 20, 30];
    const buckets = logHistogram(samples, 8);
    const text = asciiHistogram(buckets, { budgetMs: 10 });
    expect(text).toContain("budget 10.00ms");
    const lines = text.split("\n");
    expect(lines.findIndex((l) => l.includes("budget"))).toBeGreaterThan(0);
    const svg = svgHistogram(buckets, { title: "t <&>", summary: summarize(samples), budgetMs: 10 });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("t &lt;&amp;&gt;");
    expect(svg).toContain("#c0392b");
  });

  test("both charts are named for screen readers: role img and a <title> first", () => {
    const histogram = svgHistogram(logHistogram([1, 2, 3], 4), {
      title: "Verify <p99>",
      summary: summarize([1, 2, 3]),
    });
    const plot = svgLinePlot({
      title: "Difficulty & load",
      xLabel: "s",
      yLabel: "bits",
      series: [
        {
          label: "A",
          color: "#000",
          points: [
            [0, 10],
            [1, 12],
          ],
        },
      ],
    });
    for (const [svg, title] of [
      [histogram, "Verify &lt;p99&gt;"],
      [plot, "Difficulty &amp; load"],
    ] as const) {
      expect(svg).toMatch(/^<svg [^>]*role="img"[^>]*>\n<title>/);
      expect(svg).toContain(`<title>${title}</title>`);
    }
  });

  test("the SVG's slow tail is visible: a bucket of one sample beside 20 000 is several pixels tall", () => {
    const buckets = logHistogram(warmRun);
    const svg = svgHistogram(buckets, { title: "t", summary: summarize(warmRun), budgetMs: 10 });
    const bars = barsOf(svg);
    expect(bars).toHaveLength(buckets.length);
    const peak = Math.max(...bars.map((b) => b.height));
    const tail = bars.filter((b) => b.count > 0 && b.count <= 3);
    expect(tail.length).toBeGreaterThan(0);
    for (const bar of tail) expect(bar.height).toBeGreaterThanOrEqual(10);
    // Still ordered by count: the log scale keeps the shape, it only lifts the tail off the axis.
    expect(tail.every((bar) => bar.height < peak)).toBe(true);
    for (const bar of bars.filter((b) => b.count === 0)) expect(bar.height).toBe(0);
    // Each tail count is written over its bar.
    expect(svg).toContain(">1</text>");
  });

  test("the SVG draws the budget as a line where the budget falls, also beyond the slowest sample", () => {
    const buckets = logHistogram(warmRun);
    const bars = (budgetMs: number) => {
      const svg = svgHistogram(buckets, { title: "t", summary: summarize(warmRun), budgetMs });
      return { svg, bars: barsOf(svg), x: budgetLineX(svg)! };
    };
    // 1 ms lies inside the range: the line sits between the bars below and above it.
    const inside = bars(1);
    const below = inside.bars.filter((_, i) => buckets[i]!.to <= 1);
    const above = inside.bars.filter((_, i) => buckets[i]!.from >= 1);
    expect(inside.x).toBeGreaterThanOrEqual(Math.max(...below.map((b) => b.x + b.width)));
    expect(inside.x).toBeLessThanOrEqual(Math.min(...above.map((b) => b.x)));
    expect(inside.svg).toContain("budget 1.00ms");
    // 10 ms is above every sample: the axis widens, every bar is left of the line, all inside the frame.
    const beyond = bars(10);
    const lastBar = beyond.bars.at(-1)!;
    expect(beyond.x).toBeGreaterThan(lastBar.x + lastBar.width);
    expect(beyond.x).toBeLessThanOrEqual(760);
    expect(beyond.svg).toContain("budget 10.00ms");
    // Without a budget there is no line.
    expect(budgetLineX(svgHistogram(buckets, { title: "t", summary: summarize(warmRun) }))).toBeUndefined();
  });

  test("the ASCII rendering shows a budget above every sample too, after the bars", () => {
    const text = asciiHistogram(logHistogram([0.05, 0.06, 0.2], 4), { budgetMs: 10 });
    expect(text.split("\n").at(-1)).toContain("budget 10.00ms");
  });

  test("formatMs switches to microseconds below a millisecond", () => {
    expect(formatMs(0.0934)).toBe("93µs");
    expect(formatMs(2.5)).toBe("2.50ms");
    expect(formatMs(250)).toBe("250ms");
  });
});
