/**
 * What the runtime runners share: spawning a runtime, bundling an entry for
 * Node or the browser with Bun, and loading a bundle in headless Chromium
 * (playwright-core driving Debian's chromium) until it publishes
 * `globalThis.__portableReport`. The portable core suite and the SDK's agent
 * flow both run through these, so the browser flags and the CI rule for a
 * missing browser live in one place.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";

export const repoRoot = join(import.meta.dir, "..", "..");
export const denoPath = join(repoRoot, "node_modules", ".bin", "deno");

export function runProcess(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** Bundles `entry` for `target` under .tmp/<label>/<target>/ and returns the output file. */
export async function bundleFor(entry: string, target: "node" | "browser", label: string): Promise<string> {
  const outdir = join(repoRoot, ".tmp", label, target);
  await mkdir(outdir, { recursive: true });
  const result = await Bun.build({ entrypoints: [entry], target, format: "esm", outdir });
  if (!result.success) throw new Error(`bundling ${entry} for ${target} failed:\n${result.logs.join("\n")}`);
  return join(outdir, basename(entry).replace(/\.ts$/, ".js"));
}

export interface ChromiumRun {
  /** The browser bundle the page loads as a module. */
  bundle: string;
  /** Query string handed to the page, built once the page's own origin is known. */
  query?: (pageOrigin: string) => URLSearchParams;
  /** Every path but the page and its script is proxied here (same origin, no CORS needed). */
  proxyTo?: string;
  label: string;
}

/**
 * Loads the bundle in headless Chromium and resolves true when its report
 * has passes and no failures. Without a browser the run is skipped outside
 * CI and fails under CI=true, since .ci/run installs one.
 */
export async function runInChromium({ bundle, query, proxyTo, label }: ChromiumRun): Promise<boolean> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    const inCi = Boolean(process.env.CI);
    console.log(
      `${label} chromium: no browser at ${executablePath} (apt-get install -y chromium); ${inCi ? "failing under CI" : "skipped"}`,
    );
    return !inCi;
  }
  const page = `<!doctype html><meta charset="utf-8"><title>${label}</title><script type="module" src="/bundle.js"></script>`;
  const origin = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/bundle.js") {
        return new Response(Bun.file(bundle), { headers: { "content-type": "text/javascript" } });
      }
      if (url.pathname === "/" || !proxyTo)
        return new Response(page, { headers: { "content-type": "text/html" } });
      return fetch(new Request(`${proxyTo}${url.pathname}${url.search}`, request));
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
    const pageOrigin = `http://127.0.0.1:${origin.port}`;
    await tab.goto(`${pageOrigin}/${query ? `?${query(pageOrigin)}` : ""}`);
    const reported = () => (globalThis as { __portableReport?: unknown }).__portableReport !== undefined;
    await tab.waitForFunction(reported, null, { timeout: 120_000 });
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
