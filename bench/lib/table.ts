/** Plain-text rendering of a bench section: rows, then gates with PASS/FAIL. */
import { type BenchGate, type BenchSection, gatePassed } from "./types.ts";

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** `counts` says whether a gate decides this run; the others are shown as information. */
export function formatSection(section: BenchSection, counts: (gate: BenchGate) => boolean): string {
  const lines = [`\n== ${section.name} (${section.runtime}) ==`];
  const width = Math.max(
    20,
    ...section.rows.map((r) => r.label.length),
    ...section.gates.map((g) => g.name.length),
  );
  for (const row of section.rows) {
    const note = row.note ? `  (${row.note})` : "";
    lines.push(`  ${row.label.padEnd(width)}  ${formatNumber(row.value).padStart(10)} ${row.unit}${note}`);
  }
  if (section.gates.length > 0) lines.push("  gates:");
  for (const gate of section.gates) {
    const bound = [
      gate.min !== undefined ? `>= ${gate.min}` : "",
      gate.max !== undefined ? `<= ${gate.max}` : "",
    ]
      .filter(Boolean)
      .join(" and ");
    const verdict = !counts(gate) ? "info" : gatePassed(gate) ? "PASS" : "FAIL";
    lines.push(
      `  ${verdict.padEnd(4)} ${gate.name.padEnd(width)}  ${formatNumber(gate.actual).padStart(10)} ${gate.unit} (${bound})`,
    );
  }
  return lines.join("\n");
}
