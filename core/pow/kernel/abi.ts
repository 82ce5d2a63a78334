/**
 * The contract between the kernel (sha256-wat.ts) and the code that drives
 * it: memory offsets, `search` results, export signatures.
 */

/** Byte offsets inside the kernel's memory, shared with the JS side. */
export const KERNEL_LAYOUT = {
  /** 64 ASCII bytes of the challenge, read by `set_challenge`. */
  challenge: 0,
  /** The midstate, 8 words, written by `set_challenge`. */
  midstate: 64,
  /** i32: number of digits of the current prefix (0..19). */
  prefixLength: 96,
  /** i32: number of digits of the nonce found by the last `search`. */
  resultLength: 100,
  /** i32: nonces hashed by the last `search`. */
  hashes: 104,
  /** i32, set per instance: how the SIMD kernel runs a step (`SIMD_STEP_CODES`). The scalar kernel ignores it. */
  simdStep: 108,
  /** ASCII digits of the current prefix; advanced in place by `search`. */
  prefix: 128,
  /** ASCII digits of the nonce found by the last `search`. */
  result: 160,
  /** Scalar block: words 0..5 of the second block, one i32 each. */
  scratch: 192,
  /** SIMD block: words 0..5, four lanes each (word i of lane j at +16i+4j). */
  lanes: 256,
  /** K[t] + W[t] for the 64 rounds of the scalar compression, one i32 each. */
  schedule: 1024,
  /** K[t] + W[t] for the 64 rounds of the SIMD compression, one v128 each (two per round in the paired step). */
  scheduleLanes: 2048,
  /** SIMD kernel, read only: 2^k in all four lanes at +16k (k = 0..31), the factors of the `multiply` step. */
  multipliers: 4096,
} as const;

/**
 * How the SIMD kernel runs a step of four nonces. Which is fastest depends on
 * the engine's code generator, so the calibration times all three:
 * - `single`: one last digit per step, each rotate two shifts and an or;
 * - `paired`: two last digits per step, two compressions in flight (V8);
 * - `multiply`: one digit, the left half of each rotate a multiplication by a
 *   factor from memory (JavaScriptCore, whose constant vector shifts cost
 *   four instructions each).
 */
export type SimdStep = "single" | "paired" | "multiply";

/** The i32 at `KERNEL_LAYOUT.simdStep` for each step. */
export const SIMD_STEP_CODES: Readonly<Record<SimdStep, number>> = { single: 0, paired: 1, multiply: 2 };

/** `search` results. */
export const SEARCH_NOT_FOUND = 0;
export const SEARCH_FOUND = 1;
/** The prefix would need 20 digits: past every nonce of at most 20 digits. */
export const SEARCH_EXHAUSTED = 2;

/** The exports of both kernels. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  /** Computes the midstate of the 64 challenge bytes at `KERNEL_LAYOUT.challenge`. */
  set_challenge(): void;
  /** Hashes the nonces of `count` prefixes from the current one; see SEARCH_*. */
  search(count: number, mask0: number, mask1: number): number;
}

/** One batch's outcome, the same for the WASM kernels and the JS fallback. */
export interface BatchResult {
  /** SEARCH_NOT_FOUND, SEARCH_FOUND or SEARCH_EXHAUSTED. */
  status: number;
  /** The smallest valid nonce of the batch when found, else "". */
  nonce: string;
  hashes: number;
}
