/**
 * A deliberately tiny test harness for the portable suite: the same cases run
 * under bun:test, Node, Deno and headless Chromium, so the suite can depend on
 * nothing a runtime might lack (no node:assert, no test framework).
 */
export interface PortableCase {
  name: string;
  run: () => Promise<void> | void;
}

export class AssertionFailed extends Error {}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message);
}

export function assertEqual<T>(actual: T, expected: T, label: string): void {
  if (actual !== expected) {
    throw new AssertionFailed(`${label}: expected ${String(expected)}, got ${String(actual)}`);
  }
}

/** Resolves with the error's `code` when `fn` rejects with a coded error; fails otherwise. */
export async function rejectsWithCode(fn: () => unknown, code: string, label: string): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const actual = (error as { code?: unknown }).code;
    assertEqual(actual, code, label);
    return;
  }
  throw new AssertionFailed(`${label}: expected an error with code ${code}, none was thrown`);
}

export interface PortableReport {
  runtime: string;
  passed: number;
  failed: number;
  failures: { name: string; message: string }[];
}

export async function runCases(runtime: string, cases: PortableCase[]): Promise<PortableReport> {
  const report: PortableReport = { runtime, passed: 0, failed: 0, failures: [] };
  for (const testCase of cases) {
    try {
      await testCase.run();
      report.passed++;
    } catch (error) {
      report.failed++;
      report.failures.push({
        name: testCase.name,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return report;
}

declare const Deno: { exit(code: number): never } | undefined;

/** "bun", "deno", "node <version>" or the browser's user agent. */
export function runtimeName(): string {
  if (typeof Deno !== "undefined") return "deno";
  const g = globalThis as {
    process?: { versions?: { node?: string; bun?: string } };
    navigator?: { userAgent?: string };
  };
  if (g.process?.versions?.bun) return "bun";
  if (g.process?.versions?.node) return `node ${g.process.versions.node}`;
  return g.navigator?.userAgent ?? "browser";
}

/**
 * Runs the cases and reports them the same way in every runtime: failures
 * and the closing line `<label> <runtime>: N passed, N failed` on the
 * console, `globalThis.__portableReport` for a page, and the exit status for
 * Node and Deno (a run with no passing case fails).
 */
export async function runAndReport(label: string, cases: PortableCase[]): Promise<PortableReport> {
  const report = await runCases(runtimeName(), cases);
  for (const failure of report.failures) console.log(`FAIL ${failure.name}: ${failure.message}`);
  console.log(`${label} ${report.runtime}: ${report.passed} passed, ${report.failed} failed`);
  (globalThis as { __portableReport?: unknown }).__portableReport = report;
  const exitCode = report.failed === 0 && report.passed > 0 ? 0 : 1;
  if (typeof Deno !== "undefined") Deno.exit(exitCode);
  const proc = (globalThis as { process?: { exitCode?: number } }).process;
  if (proc && typeof window === "undefined") proc.exitCode = exitCode;
  return report;
}
