// The portable suite under bun:test; the same cases run in Node, Deno and
// Chromium through test/portable/run-all.ts.
import { test } from "bun:test";
import { portableCases } from "./suite.ts";

for (const testCase of portableCases) {
  test(`portable: ${testCase.name}`, () => testCase.run());
}
