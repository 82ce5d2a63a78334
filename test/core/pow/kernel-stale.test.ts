import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { buildKernelModule, compileWat, kernelSources } from "../../../core/pow/kernel/compile.ts";
import * as generated from "../../../core/pow/kernel/kernel.generated.ts";
import { decodeBase64, kernelBytes, simdProbeBytes } from "../../../core/pow/kernel/modules.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";

const GENERATED = new URL("../../../core/pow/kernel/kernel.generated.ts", import.meta.url);

describe("embedded kernel is not stale (run `bun run build:wasm` if this fails)", () => {
  test("the recorded WAT hashes match the WAT the source generates today", () => {
    const sources = kernelSources();
    const sha = (text: string) => createHash("sha256").update(text).digest("hex");
    expect(generated.SCALAR_KERNEL_WAT_SHA256).toBe(sha(sources.scalar));
    expect(generated.SIMD_KERNEL_WAT_SHA256).toBe(sha(sources.simd));
    expect(generated.SIMD_PROBE_WAT_SHA256).toBe(sha(sources.probe));
  });

  test(
    "rebuilding from source reproduces kernel.generated.ts byte for byte",
    async () => {
      expect(await buildKernelModule()).toBe(await readFile(GENERATED, "utf8"));
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "the embedded bytes decode to the modules wabt compiles from the source",
    async () => {
      const sources = kernelSources();
      expect(kernelBytes("wasm-scalar")).toEqual(await compileWat("scalar.wat", sources.scalar));
      expect(kernelBytes("wasm-simd")).toEqual(await compileWat("simd.wat", sources.simd));
      expect(simdProbeBytes()).toEqual(await compileWat("probe.wat", sources.probe));
      expect(decodeBase64(generated.SIMD_PROBE_WASM)).toEqual(simdProbeBytes());
      expect(WebAssembly.validate(simdProbeBytes())).toBe(true);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("invalid WAT is refused by the build, not embedded", async () => {
    await expect(compileWat("bad.wat", "(module (func (result i32)))")).rejects.toThrow();
  });
});
