import { describe, expect, test } from "bun:test";
import {
  asciiHistogram,
  formatMs,
  logHistogram,
  percentile,
  summarize,
  svgHistogram,
} from "../../bench/lib/histogram.ts";

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

  test("formatMs switches to microseconds below a millisecond", () => {
    expect(formatMs(0.0934)).toBe("93µs");
    expect(formatMs(2.5)).toBe("2.50ms");
    expect(formatMs(250)).toBe("250ms");
  });
});
