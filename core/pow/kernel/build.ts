/**
 * `bun run build:wasm`: regenerates `kernel.generated.ts` from the kernel
 * source. The output is committed so no runtime needs a build step; the
 * stale-kernel test fails until this has been run after a source change.
 */
import { buildKernelModule } from "./compile.ts";

// A computed specifier keeps `core/` free of Node types: this script is the
// only file here that touches the file system, and only at build time.
const { writeFile } = await import(["node", "fs/promises"].join(":"));
const target = new URL("./kernel.generated.ts", import.meta.url);
await writeFile(target, await buildKernelModule());
console.log(`wrote ${target.pathname}`);
