/**
 * Entry point of the portable suite outside bun:test. Node runs it bundled,
 * Deno runs the TypeScript source directly, Chromium loads it bundled in a
 * page. It prints `portable <runtime>: N passed, N failed` and sets the exit
 * status (or, in a page, `globalThis.__portableReport`).
 */
import { runAndReport } from "./harness.ts";
import { portableCases } from "./suite.ts";

await runAndReport("portable", portableCases);
