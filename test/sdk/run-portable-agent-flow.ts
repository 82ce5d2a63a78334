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
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { startTestServer } from "./helpers/server.ts";

const root = join(import.meta.dir, "..", "..");
const entry = join(import.meta.dir, "portable-agent-flow.ts");
const outDir = join(root, ".tmp", "portable-agent-flow");

function run(command: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

async function bundle(target: "node" | "browser"): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const result = await Bun.build({
    entrypoints: [entry],
    target,
    format: "esm",
    outdir: join(outDir, target),
  });
  if (!result.success) throw new Error(`bundling for ${target} failed:\n${result.logs.join("\n")}`);
  return join(outDir, target, "portable-agent-flow.js");
}

const server = await startTestServer();
const ids = await server.provision();
const env = { LIME_API_BASE: server.url, LIME_SITE_TOKEN: ids.siteToken, LIME_AGENT_TOKEN: ids.agentToken };

async function runChromium(): Promise<boolean> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    console.log(
      `portable-agent-flow chromium: no browser at ${executablePath}; ${process.env.CI ? "failing" : "skipped"}`,
    );
    return !process.env.CI;
  }
  const file = await bundle("browser");
  const page = `<!doctype html><meta charset="utf-8"><script type="module" src="/portable-agent-flow.js"></script>`;
  const origin = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/portable-agent-flow.js") {
        return new Response(Bun.file(file), { headers: { "content-type": "text/javascript" } });
      }
      if (url.pathname === "/") return new Response(page, { headers: { "content-type": "text/html" } });
      // Same-origin proxy to the LIME server (streams pass through untouched).
      const upstream = new Request(`${server.url}${url.pathname}${url.search}`, request);
      return fetch(upstream);
    },
  });
  const base = `http://127.0.0.1:${origin.port}`;
  const query = new URLSearchParams({
    base,
    site: ids.siteToken,
    agent: ids.agentToken,
    issuer: server.url,
    jwks: `${base}/.well-known/jwks.json`,
  });
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const tab = await browser.newPage();
    tab.on("console", (message) => console.log(`[chromium] ${message.text()}`));
    tab.on("pageerror", (error) => console.log(`[chromium] page error: ${error.message}`));
    await tab.goto(`${base}/?${query}`);
    await tab.waitForFunction(
      () => (globalThis as { __portableReport?: unknown }).__portableReport !== undefined,
      null,
      {
        timeout: 120_000,
      },
    );
    const report = (await tab.evaluate(
      () => (globalThis as { __portableReport?: unknown }).__portableReport,
    )) as {
      passed: number;
      failed: number;
    };
    return report.failed === 0 && report.passed > 0;
  } finally {
    await browser.close();
    await origin.stop(true);
  }
}

const runners: Record<string, () => Promise<boolean>> = {
  bun: async () => (await run(process.execPath, [entry], env)) === 0,
  node: async () => (await run("node", [await bundle("node")], env)) === 0,
  deno: async () =>
    (await run(
      join(root, "node_modules", ".bin", "deno"),
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
  await server.close();
}
console.log(
  failed.length === 0
    ? "portable-agent-flow: all runtimes passed"
    : `portable-agent-flow: failed in ${failed.join(", ")}`,
);
process.exit(failed.length === 0 ? 0 : 1);
