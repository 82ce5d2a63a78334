/**
 * The packages as a user gets them: `npm pack -w core -w sdk` builds the two
 * tarballs, they are installed into an empty project with npm (offline: they
 * need nothing else), and from there, against a live server,
 * - plain Node, Deno (npm: specifiers) and Bun solve a proof of work with the
 *   packaged WebAssembly kernel and run docs/sdk.md's ten-line login as written;
 * - a browser bundle built by esbuild from the installed packages does both in
 *   headless Chromium;
 * - `npx lime --help` works under plain Node;
 * - a bundle that imports one function leaves the rest out (sideEffects: false).
 * The packed core must stay within 120 KB.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { type Provisioned, startTestServer, type TestServer } from "../../server/testing.ts";
import { denoPath, repoRoot, runInChromium } from "../support/runtimes.ts";

/** The kernels are ~80 KB of it (docs/decisions/pow-kernel.md, "What pairing costs in size"). */
const CORE_PACKED_BUDGET_BYTES = 120 * 1024;
/** Packing builds both packages with tsc; installing and each child run take seconds on a loaded machine. */
const SETUP_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed at the time limit), capturing its output. */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS - 5_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function succeeded(result: Run, what: string): string {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  return result.stdout;
}

interface PackedFile {
  filename: string;
  size: number;
  files: Array<{ path: string }>;
}

/** The ten-line login of docs/sdk.md, exactly as the page shows it. */
async function quickstartFromDocs(): Promise<string> {
  const page = await readFile(join(repoRoot, "docs", "sdk.md"), "utf8");
  const marker = page.indexOf("<!-- test/packages/install.test.ts runs this block");
  const block = /```js\n([\s\S]*?)```/.exec(page.slice(marker));
  if (marker === -1 || block === null) throw new Error("docs/sdk.md lost its tested quickstart block");
  return block[1]!;
}

describe("the packed packages, installed into an empty project", () => {
  let work: string;
  let project: string;
  let packed: Record<"core" | "sdk", PackedFile>;
  let server: TestServer;
  let ids: Provisioned;
  let quickstart: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "lime-packages-"));
    const packs = join(work, "packs");
    project = join(work, "project");
    await mkdir(packs);
    await mkdir(project);
    const pack = succeeded(
      await run("npm", ["pack", "-w", "core", "-w", "sdk", "--json", "--pack-destination", packs], repoRoot),
      "npm pack",
    );
    // npm prints the prepack builds' output before the JSON report.
    const report = JSON.parse(pack.slice(pack.indexOf("["))) as Array<PackedFile & { name: string }>;
    const byName = (name: string) => report.find((entry) => entry.name === name)!;
    packed = { core: byName("@lime-ts/core"), sdk: byName("@lime-ts/sdk") };
    console.log(`packed: @lime-ts/core ${packed.core.size} bytes, @lime-ts/sdk ${packed.sdk.size} bytes`);

    await writeFile(
      join(project, "package.json"),
      '{ "name": "fresh-project", "private": true, "type": "module" }\n',
    );
    succeeded(
      await run(
        "npm",
        [
          "install",
          "--offline",
          "--no-audit",
          "--no-fund",
          join(packs, packed.core.filename),
          join(packs, packed.sdk.filename),
        ],
        project,
      ),
      "npm install",
    );
    quickstart = await quickstartFromDocs();
    await writeFile(join(project, "login.mjs"), quickstart);
    await writeFile(join(project, "login-deno.mjs"), quickstart.replaceAll('"@lime-ts/', '"npm:@lime-ts/'));
    const pow = await readFile(join(import.meta.dir, "fixtures", "pow.mjs"), "utf8");
    await writeFile(join(project, "pow.mjs"), pow);
    await writeFile(join(project, "pow-deno.mjs"), pow.replaceAll('"@lime-ts/', '"npm:@lime-ts/'));

    server = await startTestServer({ publicUrlIsOwnUrl: true });
    ids = await server.provision({ powDifficulty: 10 });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const sdkEnv = () => ({
    LIME_API_BASE: server.url,
    LIME_SITE_TOKEN: ids.siteToken,
    LIME_AGENT_TOKEN: ids.agentToken,
  });

  test("the core packs within 120 KB; the tarballs hold built JavaScript and types, no sources or tests", () => {
    expect(packed.core.size).toBeLessThanOrEqual(CORE_PACKED_BUDGET_BYTES);
    for (const pack of [packed.core, packed.sdk]) {
      const paths = pack.files.map((file) => file.path);
      expect(paths).toContain("package.json");
      expect(paths).toContain("CHANGELOG.md");
      expect(paths).toContain("dist/index.js");
      expect(paths).toContain("dist/index.d.ts");
      const stray = paths.filter(
        (path) => !/^(package\.json|CHANGELOG\.md|README\.md|dist\/.+\.(js|d\.ts))$/.test(path),
      );
      expect(stray).toEqual([]);
    }
  });

  test("the ten-line quickstart is ten lines of plain JavaScript", () => {
    const lines = quickstart.split("\n").filter((line) => line.trim() !== "");
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(quickstart).not.toMatch(/: (string|number)\b|\bas const\b|<[A-Z]\w*>/);
  });

  const runtimes: Array<[name: string, command: () => string, args: (file: string) => string[]]> = [
    ["node", () => "node", (file) => [`${file}.mjs`]],
    [
      "deno (npm: specifiers)",
      () => denoPath,
      (file) => [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-env",
        "--allow-net",
        "--allow-read",
        `${file}-deno.mjs`,
      ],
    ],
    ["bun", () => process.execPath, (file) => [`${file}.mjs`]],
  ];

  for (const [name, command, args] of runtimes) {
    test(
      `${name}: the packaged WebAssembly kernel solves a proof of work`,
      async () => {
        const out = succeeded(await run(command(), args("pow"), project), `${name} pow.mjs`);
        const result = JSON.parse(out.trim().split("\n").at(-1)!) as { backend: string; valid: boolean };
        expect(result.valid).toBe(true);
        expect(result.backend).toMatch(/^wasm-(simd|scalar)$/);
      },
      RUN_TIMEOUT_MS,
    );

    test(
      `${name}: docs/sdk.md's login signs the agent in against a live server`,
      async () => {
        const out = succeeded(await run(command(), args("login"), project, sdkEnv()), `${name} login.mjs`);
        expect(out).toContain(`agent ${ids.agentId} signed in`);
      },
      RUN_TIMEOUT_MS,
    );
  }

  test(
    "plain node: the package's node version is 20 or later",
    async () => {
      const out = succeeded(await run("node", ["--version"], project), "node --version");
      expect(Number(/^v(\d+)/.exec(out.trim())?.[1])).toBeGreaterThanOrEqual(20);
    },
    RUN_TIMEOUT_MS,
  );

  test(
    "npx lime --help runs the installed command line under plain Node",
    async () => {
      const out = succeeded(await run("npx", ["--no-install", "lime", "--help"], project), "npx lime --help");
      expect(out).toContain("usage: lime <command>");
      expect(out).toContain("verify-login");
    },
    RUN_TIMEOUT_MS,
  );

  test(
    "tree-shakable: a bundle that only verifies proofs of work leaves the kernel and the SDK out",
    async () => {
      const entry = join(project, "verify-only.mjs");
      await writeFile(
        entry,
        'import { verify } from "@lime-ts/core";\nconsole.log(verify("00".repeat(32), 1, "1"));\n',
      );
      const bundle = join(project, "verify-only.js");
      await build({
        entryPoints: [entry],
        absWorkingDir: project,
        bundle: true,
        minify: true,
        format: "esm",
        platform: "browser",
        outfile: bundle,
        logLevel: "silent",
      });
      const text = await readFile(bundle, "utf8");
      expect(text).not.toContain("AGFzbQ");
      expect(text.length).toBeLessThan(10_000);
    },
    RUN_TIMEOUT_MS,
  );

  test(
    "a browser bundle built by esbuild from the installed packages solves and signs in, in Chromium",
    async () => {
      const entry = join(project, "browser-entry.mjs");
      await writeFile(entry, await readFile(join(import.meta.dir, "fixtures", "browser-entry.mjs"), "utf8"));
      const bundle = join(project, "bundle.js");
      const result = await build({
        entryPoints: [entry],
        absWorkingDir: project,
        bundle: true,
        format: "esm",
        platform: "browser",
        outfile: bundle,
        logLevel: "silent",
      });
      expect(result.errors).toEqual([]);
      // The kernel came along inside the JavaScript: the WebAssembly magic number, base64.
      expect(await readFile(bundle, "utf8")).toContain("AGFzbQ");
      const passed = await runInChromium({
        label: "installed-packages",
        bundle,
        proxyTo: server.url,
        query: (base) =>
          new URLSearchParams({
            base,
            site: ids.siteToken,
            agent: ids.agentToken,
            issuer: server.url,
            jwks: `${base}/.well-known/jwks.json`,
          }),
      });
      expect(passed).toBe(true);
    },
    SETUP_TIMEOUT_MS,
  );
});
