// The backend choice by calibration, with the clock driven by the test: each
// kernel is the real one, wrapped so that every `search` call advances a fake
// clock by a per-kernel cost (its speed, as the calibration sees it) and,
// for a kernel playing a miscompiled one, corrupts or traps on its answer.
import { describe, expect, test } from "bun:test";
import {
  calibrationOf,
  defaultRuntime,
  detectBackend,
  type PowRuntime,
  simdStepIn,
  solverBackend,
  type WasmApi,
} from "../../../core/pow/backend.ts";
import { CALIBRATION_CHALLENGE, CALIBRATION_ROUNDS, STEP_MARGINS } from "../../../core/pow/calibration.ts";
import {
  KERNEL_LAYOUT,
  type KernelExports,
  SIMD_STEP_CODES,
  type SimdStep,
} from "../../../core/pow/kernel/abi.ts";
import { type KernelKind, kernelBytes } from "../../../core/pow/kernel/modules.ts";
import { defaultEnvironment, solveIn } from "../../../core/pow/solver.ts";
import { nodeSmallestNonce, type PowVector } from "./reference.ts";
import vectorFile from "./vectors.json";

const v16 = (vectorFile.vectors as PowVector[]).find((x) => x.difficulty === 16)!;
type Bytes = Uint8Array<ArrayBuffer>;

interface Driven {
  /** Fake milliseconds each kernel costs per prefix searched. */
  cost: Record<KernelKind, number>;
  /** A kernel that reports "not found" where it found the answer. */
  wrong?: KernelKind;
  /** A kernel whose every search traps. */
  trap?: KernelKind;
  /** Fake milliseconds per prefix of the SIMD kernel in its other steps (else its `cost`). */
  stepCost?: Partial<Record<Exclude<SimdStep, "single">, number>>;
  /** A SIMD step that reports "not found" where it found the answer. */
  wrongStep?: SimdStep;
  simd?: boolean;
}

function drivenRuntime(driven: Driven) {
  let clock = 0;
  const searches: Record<KernelKind, number> = { "wasm-simd": 0, "wasm-scalar": 0 };
  const instantiated: Record<KernelKind, number> = { "wasm-simd": 0, "wasm-scalar": 0 };
  const stepSearches: Record<SimdStep, number> = { single: 0, paired: 0, multiply: 0 };
  const stepOfCode = new Map(Object.entries(SIMD_STEP_CODES).map(([step, code]) => [code, step as SimdStep]));
  const warnings: string[] = [];
  const kindOf = new WeakMap<WebAssembly.Module, KernelKind>();
  const simdSize = kernelBytes("wasm-simd").byteLength;
  const wasm: WasmApi = {
    validate: (bytes) => (driven.simd ?? true) && WebAssembly.validate(bytes as Bytes),
    compile: async (bytes) => {
      const module = await WebAssembly.compile(bytes as Bytes);
      kindOf.set(module, (bytes as Bytes).byteLength === simdSize ? "wasm-simd" : "wasm-scalar");
      return module;
    },
    instantiate: (async (module: WebAssembly.Module) => {
      const kind = kindOf.get(module)!;
      instantiated[kind] += 1;
      const real = (await WebAssembly.instantiate(module)).exports as unknown as KernelExports;
      const exports: KernelExports = {
        memory: real.memory,
        set_challenge: () => real.set_challenge(),
        search: (count, mask0, mask1) => {
          const step =
            kind === "wasm-simd"
              ? stepOfCode.get(new Int32Array(real.memory.buffer)[KERNEL_LAYOUT.simdStep >> 2]!)!
              : undefined;
          searches[kind] += 1;
          if (step) stepSearches[step] += 1;
          const stepCost = step === undefined || step === "single" ? undefined : driven.stepCost?.[step];
          clock += (stepCost ?? driven.cost[kind]) * count;
          if (driven.trap === kind) throw new WebAssembly.RuntimeError("unreachable");
          const status = real.search(count, mask0, mask1);
          return (driven.wrong === kind || (step && step === driven.wrongStep)) && status === 1 ? 0 : status;
        },
      };
      return { exports };
    }) as unknown as WasmApi["instantiate"],
  };
  const runtime: PowRuntime = { wasm, now: () => clock, warn: (message) => warnings.push(message) };
  return { runtime, searches, stepSearches, instantiated, warnings };
}

const env = (runtime: PowRuntime) => ({ ...defaultEnvironment(), runtime });

describe("backend calibration", () => {
  test("the known answer is the smallest 8-bit nonce of the calibration challenge (node:crypto)", () => {
    expect(nodeSmallestNonce(CALIBRATION_CHALLENGE, 8)).toBe("354");
  });

  test("the fastest correct kernel wins, whichever it is", async () => {
    const scalarFaster = drivenRuntime({ cost: { "wasm-simd": 2, "wasm-scalar": 1 } });
    expect(await detectBackend(scalarFaster.runtime)).toBe("wasm-scalar");
    const { rates } = calibrationOf(scalarFaster.runtime)!;
    expect(rates["wasm-scalar"]! / rates["wasm-simd"]!).toBeCloseTo(2, 5);

    const simdFaster = drivenRuntime({ cost: { "wasm-simd": 1, "wasm-scalar": 3 } });
    expect(await detectBackend(simdFaster.runtime)).toBe("wasm-simd");
    expect(simdFaster.warnings).toEqual([]);
  });

  test("a kernel with a wrong answer is never chosen, even when it is the fastest", async () => {
    const wrongSimd = drivenRuntime({ cost: { "wasm-simd": 0.001, "wasm-scalar": 5 }, wrong: "wasm-simd" });
    expect(await detectBackend(wrongSimd.runtime)).toBe("wasm-scalar");
    expect(calibrationOf(wrongSimd.runtime)!.incorrect).toEqual(["wasm-simd"]);
    expect(wrongSimd.warnings).toEqual([
      "lime pow: the wasm-simd kernel gave a wrong answer in this runtime; not using it",
    ]);
    // It was not timed either: one search (the known answer) and no more.
    expect(wrongSimd.searches["wasm-simd"]).toBe(1);

    const trappingScalar = drivenRuntime({
      cost: { "wasm-simd": 5, "wasm-scalar": 0.001 },
      trap: "wasm-scalar",
    });
    expect(await detectBackend(trappingScalar.runtime)).toBe("wasm-simd");
    expect(calibrationOf(trappingScalar.runtime)!.incorrect).toEqual(["wasm-scalar"]);
  });

  test("no correct kernel: the pure-JS fallback, logged, and still the right nonce", async () => {
    const { runtime, warnings } = drivenRuntime({
      cost: { "wasm-simd": 1, "wasm-scalar": 1 },
      wrong: "wasm-scalar",
      simd: false,
    });
    expect(await detectBackend(runtime)).toBe("js");
    expect(warnings.at(-1)).toContain("pure-JS fallback");
    expect((await solveIn(env(runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
  });

  test("one usable kernel is chosen without timing it", async () => {
    const { runtime, searches } = drivenRuntime({ cost: { "wasm-simd": 1, "wasm-scalar": 1 }, simd: false });
    expect(await detectBackend(runtime)).toBe("wasm-scalar");
    expect(calibrationOf(runtime)).toEqual({
      chosen: "wasm-scalar",
      rates: {},
      simdStep: "single",
      stepRates: {},
      incorrect: [],
    });
    expect(searches).toEqual({ "wasm-simd": 0, "wasm-scalar": 1 });
  });

  test("the SIMD step is measured: paired digits when faster, and solves and workers use it", async () => {
    const faster = drivenRuntime({ cost: { "wasm-simd": 2, "wasm-scalar": 3 }, stepCost: { paired: 1 } });
    expect(await detectBackend(faster.runtime)).toBe("wasm-simd");
    const calibration = calibrationOf(faster.runtime)!;
    expect(calibration.simdStep).toBe("paired");
    expect(calibration.stepRates.paired! / calibration.rates["wasm-scalar"]!).toBeCloseTo(3, 5);
    expect(calibration.stepRates.single! / calibration.rates["wasm-scalar"]!).toBeCloseTo(1.5, 5);
    expect(calibration.rates["wasm-simd"]).toBe(calibration.stepRates.paired!);
    expect(simdStepIn(faster.runtime)).toBe("paired");
    const before = { ...faster.stepSearches };
    expect((await solveIn(env(faster.runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
    expect(faster.stepSearches.paired).toBeGreaterThan(before.paired);
    expect(faster.stepSearches.single).toBe(before.single);

    const slower = drivenRuntime({ cost: { "wasm-simd": 1, "wasm-scalar": 3 }, stepCost: { paired: 2 } });
    expect(await detectBackend(slower.runtime)).toBe("wasm-simd");
    expect(calibrationOf(slower.runtime)!.simdStep).toBe("single");
    expect(calibrationOf(slower.runtime)!.stepRates.paired! * 2).toBeCloseTo(
      calibrationOf(slower.runtime)!.rates["wasm-simd"]!,
      5,
    );
    const timed = { ...slower.stepSearches };
    expect((await solveIn(env(slower.runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
    expect(slower.stepSearches.paired).toBe(timed.paired);
    expect(slower.stepSearches.single).toBeGreaterThan(timed.single);
  });

  test("the multiply step is chosen where it is fastest, over a slower paired step", async () => {
    const { runtime, stepSearches } = drivenRuntime({
      cost: { "wasm-simd": 2, "wasm-scalar": 3 },
      stepCost: { paired: 1.5, multiply: 1 },
    });
    expect(await detectBackend(runtime)).toBe("wasm-simd");
    const calibration = calibrationOf(runtime)!;
    expect(calibration.simdStep).toBe("multiply");
    expect(calibration.rates["wasm-simd"]).toBe(calibration.stepRates.multiply!);
    expect(calibration.stepRates.multiply! / calibration.stepRates.paired!).toBeCloseTo(1.5, 5);
    const before = { ...stepSearches };
    expect((await solveIn(env(runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
    expect(stepSearches.multiply).toBeGreaterThan(before.multiply);
    expect(stepSearches.paired).toBe(before.paired);
  });

  test("pairing must win by its margin: a near tie keeps the single step", async () => {
    // 5% faster paired (within the margin): single, and the SIMD kernel's rate is its single-step rate.
    const nearTie = drivenRuntime({
      cost: { "wasm-simd": 1, "wasm-scalar": 3 },
      stepCost: { paired: 1 / 1.05 },
    });
    expect(await detectBackend(nearTie.runtime)).toBe("wasm-simd");
    const near = calibrationOf(nearTie.runtime)!;
    expect(near.simdStep).toBe("single");
    expect(near.stepRates.paired! / near.rates["wasm-simd"]!).toBeCloseTo(1.05, 5);
    expect(STEP_MARGINS.paired).toBeGreaterThan(1.05);

    // Past the margin it pairs, and the paired rate is what the kinds are ranked by.
    const clear = drivenRuntime({
      cost: { "wasm-simd": 1, "wasm-scalar": 1 / (STEP_MARGINS.paired + 0.05) },
      stepCost: { paired: 1 / (STEP_MARGINS.paired + 0.1) },
    });
    expect(await detectBackend(clear.runtime)).toBe("wasm-simd");
    expect(calibrationOf(clear.runtime)!.simdStep).toBe("paired");
  });

  test("the multiply step only has to time faster, and a tie keeps the single step", async () => {
    const ahead = drivenRuntime({
      cost: { "wasm-simd": 1, "wasm-scalar": 3 },
      stepCost: { multiply: 1 / 1.04 },
    });
    expect(await detectBackend(ahead.runtime)).toBe("wasm-simd");
    expect(calibrationOf(ahead.runtime)!.simdStep).toBe("multiply");

    const tie = drivenRuntime({ cost: { "wasm-simd": 1, "wasm-scalar": 3 }, stepCost: { multiply: 1 } });
    expect(await detectBackend(tie.runtime)).toBe("wasm-simd");
    expect(calibrationOf(tie.runtime)!.simdStep).toBe("single");
  });

  for (const step of ["paired", "multiply"] as const) {
    test(`a wrong ${step} step costs that step, not the SIMD kernel`, async () => {
      const { runtime, stepSearches, warnings } = drivenRuntime({
        cost: { "wasm-simd": 2, "wasm-scalar": 3 },
        stepCost: { [step]: 0.001 },
        wrongStep: step,
      });
      expect(await detectBackend(runtime)).toBe("wasm-simd");
      expect(calibrationOf(runtime)).toMatchObject({ simdStep: "single", incorrect: [] });
      expect(calibrationOf(runtime)!.stepRates[step]).toBeUndefined();
      // Checked once, never timed.
      expect(stepSearches[step]).toBe(1);
      expect(warnings).toEqual([]);
    });
  }

  test("only the chosen kernel's instance is kept for the solves; the other is let go", async () => {
    const { runtime, instantiated } = drivenRuntime({ cost: { "wasm-simd": 1, "wasm-scalar": 3 } });
    expect(await detectBackend(runtime)).toBe("wasm-simd");
    expect(instantiated).toEqual({ "wasm-simd": 1, "wasm-scalar": 1 });
    // The solve reuses the calibrated SIMD instance...
    expect((await solveIn(env(runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
    expect(instantiated).toEqual({ "wasm-simd": 1, "wasm-scalar": 1 });
    // ...while the scalar one was not kept: forcing it instantiates it again.
    const forced = await solveIn(env(runtime), v16.challenge, v16.difficulty, { backend: "wasm-scalar" });
    expect(forced.nonce).toBe(v16.nonce);
    expect(instantiated).toEqual({ "wasm-simd": 1, "wasm-scalar": 2 });
  });

  test("a clock that does not move makes a tie, which the SIMD kernel (first candidate) takes", async () => {
    const { runtime, searches } = drivenRuntime({ cost: { "wasm-simd": 0, "wasm-scalar": 0 } });
    expect(await detectBackend(runtime)).toBe("wasm-simd");
    // Each round stops at its batch cap instead of waiting for a clock that never moves.
    // The SIMD kernel is checked and timed three times, once per step.
    expect(searches["wasm-simd"]).toBe(3 * searches["wasm-scalar"]);
    expect(searches["wasm-simd"]).toBeGreaterThan(CALIBRATION_ROUNDS);
    expect(calibrationOf(runtime)!.simdStep).toBe("single");
  });

  test("the choice is measured once per runtime and cached", async () => {
    const { runtime, searches } = drivenRuntime({ cost: { "wasm-simd": 2, "wasm-scalar": 1 } });
    const [first, second] = await Promise.all([detectBackend(runtime), detectBackend(runtime)]);
    const after = { ...searches };
    const calibration = calibrationOf(runtime);
    expect(await detectBackend(runtime)).toBe(first);
    expect(second).toBe(first);
    expect(searches).toEqual(after);
    expect(calibrationOf(runtime)).toBe(calibration!);
    expect(
      calibrationOf(drivenRuntime({ cost: { "wasm-simd": 1, "wasm-scalar": 1 } }).runtime),
    ).toBeUndefined();
  });

  test("solve uses the calibrated kernel, and an explicit backend still wins over it", async () => {
    const { runtime, searches } = drivenRuntime({ cost: { "wasm-simd": 2, "wasm-scalar": 1 } });
    expect(await detectBackend(runtime)).toBe("wasm-scalar");
    const before = { ...searches };
    expect((await solveIn(env(runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
    expect(searches["wasm-simd"]).toBe(before["wasm-simd"]);
    expect(searches["wasm-scalar"]).toBeGreaterThan(before["wasm-scalar"]);

    const forced = { ...searches };
    const solution = await solveIn(env(runtime), v16.challenge, v16.difficulty, { backend: "wasm-simd" });
    expect(solution.nonce).toBe(v16.nonce);
    expect(searches["wasm-simd"]).toBeGreaterThan(forced["wasm-simd"]);
    expect(searches["wasm-scalar"]).toBe(forced["wasm-scalar"]);
  });

  test("solverBackend reports the default runtime's calibrated choice", async () => {
    const backend = await solverBackend();
    expect(backend).toBe(calibrationOf(defaultRuntime)!.chosen!);
    expect(await detectBackend(defaultRuntime)).toBe(backend);
  });
});
