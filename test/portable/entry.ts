/**
 * Entry point of the portable suite outside bun:test. Node runs it bundled,
 * Deno runs the TypeScript source directly, Chromium loads it bundled in a
 * page. It prints the plain closing line `portable <runtime>: N passed, N failed`
 * and sets the exit status (or, in a page, `globalThis.__portableReport`).
 */
import { runCases } from "./harness.ts";
import { portableCases } from "./suite.ts";

declare const Deno: { exit(code: number): never } | undefined;

function runtimeName(): string {
  if (typeof Deno !== "undefined") return "deno";
  const g = globalThis as {
    process?: { versions?: { node?: string; bun?: string } };
    navigator?: { userAgent?: string };
  };
  if (g.process?.versions?.bun) return "bun";
  if (g.process?.versions?.node) return `node ${g.process.versions.node}`;
  return g.navigator?.userAgent ?? "browser";
}

const report = await runCases(runtimeName(), portableCases);
for (const failure of report.failures) console.log(`FAIL ${failure.name}: ${failure.message}`);
console.log(`portable ${report.runtime}: ${report.passed} passed, ${report.failed} failed`);
(globalThis as { __portableReport?: unknown }).__portableReport = report;

const exitCode = report.failed === 0 && report.passed > 0 ? 0 : 1;
if (typeof Deno !== "undefined") Deno.exit(exitCode);
const proc = (globalThis as { process?: { exitCode?: number } }).process;
if (proc && typeof window === "undefined") proc.exitCode = exitCode;
