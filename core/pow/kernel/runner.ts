/**
 * Driving one kernel instance: load the challenge, run a batch of prefixes,
 * read the answer back from the fixed memory layout. `loadChallenge`,
 * `setSimdStep` and `runKernelBatch` are also shipped, as source text, into worker scripts, so
 * they must stay self-contained: no imports, no module-level names, only
 * their parameters and globals.
 */
import type { BatchResult, KERNEL_LAYOUT, KernelExports, SimdStep } from "./abi.ts";

export type KernelLayout = typeof KERNEL_LAYOUT;

/** Writes the 64 ASCII bytes of `challenge` and computes its midstate. */
export function loadChallenge(kernel: KernelExports, layout: KernelLayout, challenge: string): void {
  const bytes = new Uint8Array(kernel.memory.buffer);
  for (let i = 0; i < 64; i++) bytes[layout.challenge + i] = challenge.charCodeAt(i);
  kernel.set_challenge();
}

/**
 * How this instance's SIMD kernel runs its steps (`SimdStep`); stays set
 * until changed. The codes are `SIMD_STEP_CODES`, written out here because
 * this function is shipped to workers as source text.
 */
export function setSimdStep(kernel: KernelExports, layout: KernelLayout, step: SimdStep): void {
  const code = step === "paired" ? 1 : step === "multiply" ? 2 : 0;
  new Int32Array(kernel.memory.buffer)[layout.simdStep >> 2] = code;
}

/**
 * Hashes the nonces `prefix * 10 + 0..9` for `count` consecutive prefixes
 * from `prefix` ("" is the prefix of the one-digit nonces 0..9).
 */
export function runKernelBatch(
  kernel: KernelExports,
  layout: KernelLayout,
  prefix: string,
  count: number,
  mask0: number,
  mask1: number,
): BatchResult {
  const bytes = new Uint8Array(kernel.memory.buffer);
  const words = new Int32Array(kernel.memory.buffer);
  for (let i = 0; i < prefix.length; i++) bytes[layout.prefix + i] = prefix.charCodeAt(i);
  words[layout.prefixLength >> 2] = prefix.length;
  const status = kernel.search(count, mask0, mask1);
  let nonce = "";
  if (status === 1) {
    const length = words[layout.resultLength >> 2]!;
    for (let i = 0; i < length; i++) nonce += String.fromCharCode(bytes[layout.result + i]!);
  }
  return { status, nonce, hashes: words[layout.hashes >> 2]! };
}
