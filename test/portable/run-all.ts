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
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const outDir = join(root, ".tmp", "portable");
const entry = join(import.meta.dir, "entry.ts");

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit" });
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
  if (!result.success)
    throw new Error(`bundling the portable suite for ${target} failed:\n${result.logs.join("\n")}`);
  return join(outDir, target, "entry.js");
}

async function runNode(): Promise<boolean> {
  const file = await bundle("node");
  return (await run("node", [file])) === 0;
}

async function runDeno(): Promise<boolean> {
  const deno = join(root, "node_modules", ".bin", "deno");
  return (await run(deno, ["run", "--quiet", "--allow-read", "--allow-env", "--no-prompt", entry])) === 0;
}

async function runChromium(): Promise<boolean> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    const inCi = Boolean(process.env.CI);
    console.log(
      `portable chromium: no browser at ${executablePath} (apt-get install -y chromium)${inCi ? "" : "; skipped outside CI"}`,
    );
    return !inCi;
  }
  const file = await bundle("browser");
  const page = `<!doctype html><meta charset="utf-8"><title>portable</title><script type="module" src="/entry.js"></script>`;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/entry.js")
        return new Response(Bun.file(file), { headers: { "content-type": "text/javascript" } });
      return new Response(page, { headers: { "content-type": "text/html" } });
    },
  });
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
    ],
  });
  try {
    const tab = await browser.newPage();
    tab.on("console", (message) => console.log(`[chromium] ${message.text()}`));
    tab.on("pageerror", (error) => console.log(`[chromium] page error: ${error.message}`));
    await tab.goto(`http://127.0.0.1:${server.port}/`);
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
    server.stop(true);
  }
}

const results: [string, boolean][] = [];
for (const [name, runner] of [
  ["node", runNode],
  ["deno", runDeno],
  ["chromium", runChromium],
] as const) {
  results.push([name, await runner()]);
}
const failed = results.filter(([, ok]) => !ok).map(([name]) => name);
console.log(
  failed.length === 0 ? "portable: all runtimes passed" : `portable: failed in ${failed.join(", ")}`,
);
process.exit(failed.length === 0 ? 0 : 1);
