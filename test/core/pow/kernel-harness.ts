// Instantiates the embedded kernels directly, below the solver, so the tests
// can start a search at any prefix and with any difficulty.
import { difficultyMasks } from "../../../core/pow/form.ts";
import { type BatchResult, KERNEL_LAYOUT, type KernelExports } from "../../../core/pow/kernel/abi.ts";
import { type KernelKind, kernelBytes } from "../../../core/pow/kernel/modules.ts";
import { loadChallenge, runKernelBatch, setSimdStep } from "../../../core/pow/kernel/runner.ts";

/** Each kernel, and the SIMD one in each of its steps (`SimdStep`). */
export const KERNEL_VARIANTS = [
  "wasm-scalar",
  "wasm-simd",
  "wasm-simd-paired",
  "wasm-simd-multiply",
] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];

export async function openKernel(variant: KernelVariant, challenge: string) {
  const kind: KernelKind = variant === "wasm-scalar" ? "wasm-scalar" : "wasm-simd";
  const { instance } = await WebAssembly.instantiate(kernelBytes(kind));
  const kernel = instance.exports as unknown as KernelExports;
  setSimdStep(
    kernel,
    KERNEL_LAYOUT,
    variant === "wasm-simd-paired" ? "paired" : variant === "wasm-simd-multiply" ? "multiply" : "single",
  );
  loadChallenge(kernel, KERNEL_LAYOUT, challenge);
  return {
    kernel,
    search(prefix: string, count: number, difficulty: number): BatchResult {
      const [m0, m1] = difficultyMasks(difficulty);
      return runKernelBatch(kernel, KERNEL_LAYOUT, prefix, count, m0, m1);
    },
    /** A search with raw masks over the first two digest words: any bits, not only leading ones. */
    searchMasks(prefix: string, count: number, mask0: number, mask1: number): BatchResult {
      return runKernelBatch(kernel, KERNEL_LAYOUT, prefix, count, mask0, mask1);
    },
  };
}
