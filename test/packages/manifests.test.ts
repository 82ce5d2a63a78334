/**
 * The two packages' manifests agree with each other and with the code:
 * one version everywhere (package.json, jsr.json, the CHANGELOG), every
 * public entry named the same way by npm's exports map, JSR's exports, the
 * repository's tsconfig paths and deno.json, and nothing imported that the
 * package does not declare. `deno publish --dry-run` accepts both for JSR.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { denoPath, repoRoot } from "../support/runtimes.ts";

interface PackageJson {
  name: string;
  version: string;
  type: string;
  sideEffects: boolean;
  files: string[];
  engines: { node: string };
  exports: Record<string, string | { types: string; default: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  bin?: Record<string, string>;
}

interface JsrJson {
  name: string;
  version: string;
  exports: Record<string, string>;
}

const readJson = <T>(...path: string[]): T => JSON.parse(readFileSync(join(repoRoot, ...path), "utf8")) as T;

const PACKAGES = ["core", "sdk"] as const;
/** Entries JSR does not carry: the Elysia plugin's type is inferred from Elysia and cannot be written out. */
const NPM_ONLY = new Set(["@lime-ts/sdk/elysia"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "dist" || name === "node_modules") return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** The source file a built entry comes from: `./dist/pow/index.js` → `pow/index.ts`. */
const sourceOf = (built: string) => built.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts");

describe("package manifests", () => {
  test("one semantic version per package in package.json, jsr.json and the CHANGELOG's latest release", () => {
    for (const dir of PACKAGES) {
      const pkg = readJson<PackageJson>(dir, "package.json");
      const jsr = readJson<JsrJson>(dir, "jsr.json");
      expect(pkg.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
      expect(jsr.name).toBe(pkg.name);
      expect(jsr.version).toBe(pkg.version);
      const changelog = readFileSync(join(repoRoot, dir, "CHANGELOG.md"), "utf8");
      expect(/^## \[(\d[^\]]*)\]/m.exec(changelog)?.[1]).toBe(pkg.version);
    }
    const core = readJson<PackageJson>("core", "package.json");
    const sdk = readJson<PackageJson>("sdk", "package.json");
    const range = sdk.dependencies?.["@lime-ts/core"];
    expect(range).toBe(`^${core.version}`);
  });

  test("ES modules with types, no side effects, Node 20+, only dist and docs published", () => {
    for (const dir of PACKAGES) {
      const pkg = readJson<PackageJson>(dir, "package.json");
      expect(pkg.type).toBe("module");
      expect(pkg.sideEffects).toBe(false);
      expect(pkg.engines.node).toBe(">=20");
      expect(pkg.files.sort()).toEqual(["CHANGELOG.md", "dist"]);
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        if (subpath === "./package.json") continue;
        if (typeof target === "string") throw new Error(`${pkg.name} ${subpath}: conditions expected`);
        expect(Object.keys(target)).toEqual(["types", "default"]);
        expect(target.types).toBe(target.default.replace(/\.js$/, ".d.ts"));
        expect(existsSync(join(repoRoot, dir, sourceOf(target.default)))).toBe(true);
      }
    }
    const sdk = readJson<PackageJson>("sdk", "package.json");
    expect(sdk.bin).toEqual({ lime: "dist/cli.js" });
    expect(readFileSync(join(repoRoot, "sdk", "cli.ts"), "utf8")).toStartWith("#!/usr/bin/env node\n");
  });

  test("npm's exports, JSR's exports, tsconfig paths and deno.json name every entry alike", () => {
    const paths = (
      JSON.parse(readFileSync(join(repoRoot, "tsconfig.json"), "utf8").replace(/^\s*\/\/.*$/gm, "")) as {
        compilerOptions: { paths: Record<string, string[]> };
      }
    ).compilerOptions.paths;
    const denoImports = readJson<{ imports: Record<string, string> }>("deno.json").imports;
    const npmEntries: string[] = [];
    for (const dir of PACKAGES) {
      const pkg = readJson<PackageJson>(dir, "package.json");
      const jsr = readJson<JsrJson>(dir, "jsr.json");
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        if (subpath === "./package.json" || typeof target === "string") continue;
        const specifier = pkg.name + subpath.slice(1);
        npmEntries.push(specifier);
        const source = `./${dir}/${sourceOf(target.default)}`;
        expect([specifier, paths[specifier]]).toEqual([specifier, [source]]);
        expect([specifier, denoImports[specifier]]).toEqual([specifier, source]);
        if (!NPM_ONLY.has(specifier))
          expect([specifier, jsr.exports[subpath]]).toEqual([specifier, `./${sourceOf(target.default)}`]);
      }
    }
    expect(Object.keys(paths).sort()).toEqual([...npmEntries].sort());
    expect(Object.keys(denoImports).sort()).toEqual([...npmEntries].sort());
  });

  test("the packages import only themselves, each other and their declared peers; no Bun API", () => {
    const allowed: Record<(typeof PACKAGES)[number], RegExp> = {
      core: /^$/,
      sdk: /^(@lime-ts\/core(\/[a-z]+(-[a-z]+)*)?|elysia|@modelcontextprotocol\/sdk\/.+)$/,
    };
    const buildOnly = /pow\/kernel\/(build|compile|sha256-wat)\.ts$/;
    for (const dir of PACKAGES) {
      for (const file of sourceFiles(join(repoRoot, dir))) {
        const name = relative(repoRoot, file);
        if (buildOnly.test(name)) continue;
        const text = readFileSync(file, "utf8");
        for (const match of text.matchAll(/^(?:import|export)[^"']*?from\s+["']([^"']+)["']/gm)) {
          const specifier = match[1]!;
          if (specifier.startsWith(".")) continue;
          expect([name, specifier, allowed[dir].test(specifier)]).toEqual([name, specifier, true]);
        }
        const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
        expect([name, /\bBun\.|from ["']bun:/.test(code)]).toEqual([name, false]);
      }
    }
  });

  test("deno publish --dry-run accepts both packages for JSR", () => {
    for (const dir of PACKAGES) {
      // The SDK's MCP entry type-checks against the MCP SDK from npm, which needs the registry; its files,
      // exports and slow-type rules are still checked without it.
      const args = ["publish", "--dry-run", "--allow-dirty", "--config", "jsr.json"];
      if (dir === "sdk") args.push("--no-check");
      const result = spawnSync(denoPath, args, {
        cwd: join(repoRoot, dir),
        encoding: "utf8",
        timeout: 100_000,
      });
      const output = `${result.stdout}\n${result.stderr}`;
      expect([dir, result.status, output.includes("Dry run complete")]).toEqual([dir, 0, true]);
    }
  }, 120_000);
});
