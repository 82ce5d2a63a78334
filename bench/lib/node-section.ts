/**
 * Runs a bench section under Node: the section file is bundled for Node by
 * Bun (Node 20 cannot run TypeScript), executed with `--json`, and its
 * section JSON read back from stdout.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { BenchOptions, BenchSection } from "./types.ts";

const root = join(import.meta.dir, "..", "..");

export async function runInNode(entry: string, opts: BenchOptions): Promise<BenchSection> {
  const outfile = join(root, "bench", "out", `${entry.replace(/[/.]/g, "_")}.node.mjs`);
  const build = await Bun.build({ entrypoints: [join(root, entry)], target: "node", format: "esm" });
  if (!build.success) throw new Error(`bundling ${entry} for Node failed: ${build.logs.join("\n")}`);
  const [artifact] = build.outputs;
  if (!artifact) throw new Error(`bundling ${entry} for Node produced nothing`);
  await Bun.write(outfile, artifact);
  const argv = [outfile, "--json", ...(opts.short ? ["--short"] : [])];
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn("node", argv, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`node ${entry} exited ${code}`)),
    );
  });
  const jsonLine = stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(jsonLine) as BenchSection;
}
