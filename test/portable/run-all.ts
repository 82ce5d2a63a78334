/**
 * Runs the portable core suite in the three runtimes besides Bun (Bun runs it
 * under bun:test): Node 20 (bundled by Bun, since Node 20 cannot run
 * TypeScript), Deno (the TypeScript source as it is, resolving packages from
 * node_modules) and headless Chromium (bundled for the browser, served on
 * loopback, driven by playwright-core). Exits non-zero if any runtime fails.
 *
 * CHROMIUM_PATH overrides the browser (default /usr/bin/chromium). On a
 * developer machine without a browser the Chromium run is skipped with a
 * notice; under CI (CI=true) a missing browser is a failure, since .ci/run
 * installs one.
 */
import { join } from "node:path";
import { bundleFor, denoPath, runInChromium, runProcess } from "../support/runtimes.ts";

const entry = join(import.meta.dir, "entry.ts");

const runners = {
  node: async () => (await runProcess("node", [await bundleFor(entry, "node", "portable")])) === 0,
  deno: async () =>
    (await runProcess(denoPath, ["run", "--quiet", "--allow-read", "--allow-env", "--no-prompt", entry])) ===
    0,
  chromium: async () =>
    runInChromium({ bundle: await bundleFor(entry, "browser", "portable"), label: "portable" }),
};

const results: [string, boolean][] = [];
for (const [name, runner] of Object.entries(runners)) {
  results.push([name, await runner()]);
}
const failed = results.filter(([, ok]) => !ok).map(([name]) => name);
console.log(
  failed.length === 0 ? "portable: all runtimes passed" : `portable: failed in ${failed.join(", ")}`,
);
process.exit(failed.length === 0 ? 0 : 1);
