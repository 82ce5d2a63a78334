// Manual check of core/pow under Node 20 (no global Worker: the
// node:worker_threads path), on the published vectors:
//   ./node_modules/.bin/bun test/core/pow/node-smoke.ts
// Bundles core/pow for Node with Bun, then runs solve (1 and 2 workers),
// verify and an abort in a Node child process. Not a bun:test file on purpose:
// the lead's runtime runner covers Node in CI.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..", "..");
const outDir = join(root, ".tmp", "pow-node-smoke");
mkdirSync(outDir, { recursive: true });
const build = await Bun.build({
  entrypoints: [join(root, "core/pow/index.ts")],
  target: "node",
  format: "esm",
});
if (!build.success) throw new Error(build.logs.join("\n"));
writeFileSync(join(outDir, "pow.mjs"), await build.outputs[0]!.text());
writeFileSync(
  join(outDir, "check.mjs"),
  `import { createChallenge, solve, solverBackend, verify } from "./pow.mjs";
const vectors = ${JSON.stringify((await import("./vectors.json")).vectors)};
if (typeof globalThis.Worker !== "undefined") throw new Error("expected a runtime without a global Worker");
console.log("backend", await solverBackend());
for (const v of vectors) {
  for (const workers of [1, 2]) {
    const { nonce } = await solve(v.challenge, v.difficulty, { workers });
    if (nonce !== v.nonce || !verify(v.challenge, v.difficulty, nonce)) throw new Error("mismatch at difficulty " + v.difficulty);
  }
}
const controller = new AbortController();
setTimeout(() => controller.abort(), 50);
const code = await solve(createChallenge(), 40, { workers: 2, signal: controller.signal }).catch((e) => e.code);
if (code !== "POW_ABORTED") throw new Error("abort: " + code);
console.log("node smoke ok:", vectors.length, "vectors x workers 1 and 2, abort");
`,
);
const run = spawnSync("node", [join(outDir, "check.mjs")], { stdio: "inherit" });
process.exit(run.status ?? 1);
