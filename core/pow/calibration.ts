/**
 * Which kernel is fastest here, measured rather than assumed: engines differ
 * in which width they compile well (JavaScriptCore has run the SIMD kernel
 * slower than the scalar one, V8 runs it twice as fast), and that can change
 * with an engine release. Each candidate first finds a known answer, checked
 * against the pure-TS SHA-256, so a miscompiled kernel is never chosen
 * however fast it is; the correct ones then hash the same small batches in
 * interleaved rounds and the best rate wins. Ties go to the earlier
 * candidate. The SIMD kernel is checked and timed in each of its steps
 * (`SimdStep`): two compressions in flight run faster in V8 and slower in
 * JavaScriptCore, rotates half multiplied run faster in JavaScriptCore and
 * slower in V8, so that is measured too. The clock comes in as a parameter
 * so tests can drive it.
 */
import { difficultyMasks } from "./form.ts";
import { createJsSearcher } from "./js-search.ts";
import { KERNEL_LAYOUT, type KernelExports, type SimdStep } from "./kernel/abi.ts";
import type { KernelKind } from "./kernel/modules.ts";
import { loadChallenge, runKernelBatch, setSimdStep } from "./kernel/runner.ts";

/**
 * sha256("lime-pow-calibration-3"): its first 8-bit hit is nonce 354, prefix 35, so a kernel must
 * get nine four-prefix groups right, the answer sitting in a SIMD group's last lane.
 */
export const CALIBRATION_CHALLENGE = "1d0ff2b9080eb0f2df6905799c2b6495713cda7ec26e1bad583893d6740b27d9";
const CHECK_DIFFICULTY = 8;
const CHECK_PREFIXES = 64;
/** No digest has 40 leading zero bits in the timed ranges (2^-40 each): every batch runs in full. */
const [NEVER0, NEVER1] = difficultyMasks(40);
/** 5-digit nonces, the range a difficulty-15 solve lives in. */
const TIMED_PREFIX = "1000";
/** ~640 hashes: 0.05–0.5 ms, so a round spans several batches even on a 1 ms browser clock. */
const TIMED_BATCH_PREFIXES = 64;
/**
 * Eight rounds, not fewer: the engines optimize the kernel on a background
 * thread 10–30 ms after its first run, later for the larger paired chunk, and
 * a step timed before that is timed in the baseline tier, where it ranks
 * differently (V8's paired chunk is slower there, JSC's faster). With three
 * rounds Node and Deno picked the slower step in 2 of 4 fresh processes; with
 * eight, 15 of 15 were right. Costs ~25 ms more, once per process.
 */
export const CALIBRATION_ROUNDS = 8;
/**
 * How much faster than the single step another step must time to be chosen.
 * Pairing must win clearly: optimized, it gains 6–9% in Node and 33–38% in
 * Deno but loses 22–25% in Bun, and a calibration that runs before
 * JavaScriptCore's optimizing tier has compiled the kernel can see the two
 * level (a CI run picked pairing in Bun that way and solved 38% slower); V8
 * then sometimes keeps the single step and gives up its few percent. The
 * multiply step ranks the same in every tier measured (JavaScriptCore's
 * baseline and optimized code both run it faster, V8's both slower), while
 * JavaScriptCore's optimizing tier arrives about a second after first use,
 * long after the calibration: with the same 10% margin Bun kept the slower
 * single step in 3 of 10 fresh processes, so multiply only has to be faster
 * (V8, cold, then takes it in about 1 process of 5, 9% below single).
 */
export const STEP_MARGINS: Readonly<Record<Exclude<SimdStep, "single">, number>> = {
  paired: 1.1,
  multiply: 1,
};
/** Each round runs batches until this much time has passed (or MAX_BATCHES_PER_ROUND ran). */
const ROUND_MS = 1;
const MAX_BATCHES_PER_ROUND = 64;

export interface CalibrationCandidate {
  kind: KernelKind;
  kernel: KernelExports;
}

export interface Calibration {
  /** The fastest correct kernel, undefined when none was correct. */
  chosen: KernelKind | undefined;
  /** Best hashes per millisecond of each correct kernel (in its chosen step); empty when there was nothing to choose between. */
  rates: Partial<Record<KernelKind, number>>;
  /** The SIMD kernel's step to use: the fastest by `STEP_MARGINS`; `single` when not measured. */
  simdStep: SimdStep;
  /** The SIMD kernel's best hashes per millisecond in each step timed. */
  stepRates: Partial<Record<SimdStep, number>>;
  /** Kernels whose known answer was wrong. */
  incorrect: KernelKind[];
}

let expected: { status: number; nonce: string } | undefined;

/** The known answer, computed once with the pure-TS SHA-256 (the JS searcher). */
function knownAnswer(): { status: number; nonce: string } {
  if (!expected) {
    const [mask0, mask1] = difficultyMasks(CHECK_DIFFICULTY);
    const { status, nonce } = createJsSearcher(CALIBRATION_CHALLENGE, mask0, mask1).search(
      "",
      CHECK_PREFIXES,
    );
    expected = { status, nonce };
  }
  return expected;
}

/** A kernel that traps (an engine bug, memory refused) is as unusable as a wrong one. */
function answersCorrectly(kernel: KernelExports, step: SimdStep): boolean {
  const [mask0, mask1] = difficultyMasks(CHECK_DIFFICULTY);
  const answer = knownAnswer();
  try {
    setSimdStep(kernel, KERNEL_LAYOUT, step);
    loadChallenge(kernel, KERNEL_LAYOUT, CALIBRATION_CHALLENGE);
    const result = runKernelBatch(kernel, KERNEL_LAYOUT, "", CHECK_PREFIXES, mask0, mask1);
    return result.status === answer.status && result.nonce === answer.nonce;
  } catch {
    return false;
  }
}

/** Hashes per millisecond over one round; Infinity when the clock did not move. */
function timeRound(kernel: KernelExports, now: () => number): number {
  let hashes = 0;
  let batches = 0;
  const started = now();
  let elapsed = 0;
  while (elapsed < ROUND_MS && batches < MAX_BATCHES_PER_ROUND) {
    hashes += runKernelBatch(
      kernel,
      KERNEL_LAYOUT,
      TIMED_PREFIX,
      TIMED_BATCH_PREFIXES,
      NEVER0,
      NEVER1,
    ).hashes;
    batches += 1;
    elapsed = now() - started;
  }
  return elapsed > 0 ? hashes / elapsed : Number.POSITIVE_INFINITY;
}

/** One way of running a kernel that the calibration times. */
interface Timed {
  kind: KernelKind;
  kernel: KernelExports;
  step: SimdStep;
}

/**
 * The SIMD steps tried after `single`; each must beat it by its
 * `STEP_MARGINS`. Multiply before paired: JavaScriptCore compiles optimized
 * code in the order functions get hot, and timed after paired, multiply was
 * still in the baseline tier often enough to lose to single.
 */
const OTHER_STEPS = ["multiply", "paired"] as const;

/** Checks every candidate's known answer, then times the correct ones; see the file comment. */
export function calibrate(candidates: CalibrationCandidate[], now: () => number): Calibration {
  const incorrect: KernelKind[] = [];
  const timed: Timed[] = [];
  for (const { kind, kernel } of candidates) {
    if (!answersCorrectly(kernel, "single")) {
      incorrect.push(kind);
      continue;
    }
    timed.push({ kind, kernel, step: "single" });
    // A wrong step only costs that step, not the kernel.
    if (kind === "wasm-simd")
      for (const step of OTHER_STEPS) if (answersCorrectly(kernel, step)) timed.push({ kind, kernel, step });
  }
  const best = timed.map(() => 0);
  if (timed.length > 1) {
    for (let round = 0; round < CALIBRATION_ROUNDS; round++) {
      timed.forEach(({ kernel, step }, i) => {
        setSimdStep(kernel, KERNEL_LAYOUT, step);
        best[i] = Math.max(best[i]!, timeRound(kernel, now));
      });
    }
  }
  const stepRates: Partial<Record<SimdStep, number>> = {};
  let simdStep: SimdStep = "single";
  timed.forEach(({ kind, step }, i) => {
    if (kind !== "wasm-simd" || timed.length === 1) return;
    stepRates[step] = best[i]!;
    // `single` comes first in `timed`: every other step is judged against it.
    if (
      step !== "single" &&
      best[i]! > stepRates.single! * STEP_MARGINS[step] &&
      best[i]! > stepRates[simdStep]!
    )
      simdStep = step;
  });
  const rates: Partial<Record<KernelKind, number>> = {};
  let chosen: KernelKind | undefined;
  timed.forEach(({ kind, step }, i) => {
    if (kind === "wasm-simd" && step !== simdStep) return;
    rates[kind] = best[i]!;
    if (chosen === undefined || best[i]! > rates[chosen]!) chosen = kind;
  });
  return {
    chosen,
    rates: timed.length > 1 ? rates : {},
    simdStep,
    stepRates,
    incorrect,
  };
}
