/**
 * Runs test/sdk/portable-agent-flow.ts against one real server in Bun,
 * Node 20 (bundled by Bun), Deno (TypeScript source) and headless Chromium
 * (bundled for the browser, loaded from a loopback page that also proxies
 * the API, since the server sends no CORS headers). Exits non-zero if any
 * runtime fails. `bun test/sdk/run-portable-agent-flow.ts [bun|node|deno|chromium ...]`.
 *
 * CHROMIUM_PATH overrides the browser (default /usr/bin/chromium); without
 * one the Chromium run is skipped outside CI and fails under CI=true.
 */
import { join } from "node:path";
import { bundleFor, denoPath, runInChromium, runProcess } from "../support/runtimes.ts";
import { startSdkTestServer } from "./helpers/server.ts";

const entry = join(import.meta.dir, "portable-agent-flow.ts");

const server = await startSdkTestServer();
const ids = await server.provision();
const env = { LIME_API_BASE: server.url, LIME_SITE_TOKEN: ids.siteToken, LIME_AGENT_TOKEN: ids.agentToken };

async function runChromium(): Promise<boolean> {
  return runInChromium({
    label: "portable-agent-flow",
    bundle: await bundleFor(entry, "browser", "portable-agent-flow"),
    proxyTo: server.url,
    query: (base) =>
      new URLSearchParams({
        base,
        site: ids.siteToken,
        agent: ids.agentToken,
        issuer: server.url,
        jwks: `${base}/.well-known/jwks.json`,
        revocations: `${base}/api/v1/core/revocations`,
      }),
  });
}

const runners: Record<string, () => Promise<boolean>> = {
  bun: async () => (await runProcess(process.execPath, [entry], env)) === 0,
  node: async () =>
    (await runProcess("node", [await bundleFor(entry, "node", "portable-agent-flow")], env)) === 0,
  deno: async () =>
    (await runProcess(
      denoPath,
      ["run", "--quiet", "--allow-read", "--allow-env", "--allow-net", "--no-prompt", entry],
      env,
    )) === 0,
  chromium: runChromium,
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(runners);
const failed: string[] = [];
try {
  for (const name of names) {
    const runner = runners[name];
    if (!runner) throw new Error(`unknown runtime ${name}`);
    if (!(await runner())) failed.push(name);
  }
} finally {
  await server.stop();
}
console.log(
  failed.length === 0
    ? "portable-agent-flow: all runtimes passed"
    : `portable-agent-flow: failed in ${failed.join(", ")}`,
);
process.exit(failed.length === 0 ? 0 : 1);
