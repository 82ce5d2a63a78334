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
