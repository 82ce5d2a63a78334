/**
 * Which solver this runtime gets: the fastest of the WASM kernels that load
 * and answer correctly here (calibration.ts), else pure JS, with the reason
 * for a fallback logged once. Everything the choice depends on (the
 * WebAssembly namespace, the clock, the logger) comes in through a
 * `PowRuntime`, so tests can take WebAssembly away or drive the clock
 * without patching globals.
 */
import { PowError } from "../errors.ts";
import { type Calibration, type CalibrationCandidate, calibrate } from "./calibration.ts";
import { KERNEL_LAYOUT, type KernelExports, type SimdStep } from "./kernel/abi.ts";
import { type KernelKind, kernelBytes, simdProbeBytes } from "./kernel/modules.ts";
import { setSimdStep } from "./kernel/runner.ts";

export type SolverBackend = "wasm-simd" | "wasm-scalar" | "js";

export const SOLVER_BACKENDS: readonly SolverBackend[] = ["wasm-simd", "wasm-scalar", "js"];

/** The parts of the `WebAssembly` namespace the solver uses. */
export type WasmApi = Pick<typeof WebAssembly, "compile" | "instantiate" | "validate">;

export interface PowRuntime {
  /** `undefined` where the runtime has no WebAssembly. */
  wasm: WasmApi | undefined;
  /** Milliseconds from any origin; the calibration times the kernels with it. */
  now(): number;
  /** Where fallback reasons go; each runtime object logs a reason once. */
  warn(message: string): void;
}

export const defaultRuntime: PowRuntime = {
  wasm: typeof WebAssembly === "object" ? WebAssembly : undefined,
  now: () => performance.now(),
  warn: (message) => console.warn(message),
};

interface RuntimeCache {
  modules: Map<KernelKind, Promise<WebAssembly.Module>>;
  /** Instances no solve is using. */
  idle: Map<KernelKind, KernelExports[]>;
  detected?: Promise<SolverBackend>;
  calibration?: Calibration;
}

/** Idle instances kept per kernel: enough for a few concurrent solves, 64 KiB each. */
const MAX_IDLE_INSTANCES = 4;

const caches = new WeakMap<PowRuntime, RuntimeCache>();

function cacheOf(runtime: PowRuntime): RuntimeCache {
  let cache = caches.get(runtime);
  if (!cache) {
    cache = { modules: new Map(), idle: new Map() };
    caches.set(runtime, cache);
  }
  return cache;
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The compiled kernel, compiled once per runtime (the promise is cached, a
 * failure too: a CSP that refuses compilation will refuse it again). Throws
 * `POW_WASM_UNAVAILABLE` when the runtime has no WebAssembly or refuses it.
 */
export async function compileKernel(runtime: PowRuntime, kind: KernelKind): Promise<WebAssembly.Module> {
  const { wasm } = runtime;
  if (!wasm) throw new PowError("POW_WASM_UNAVAILABLE", "WebAssembly is not available in this runtime");
  const modules = cacheOf(runtime).modules;
  let module = modules.get(kind);
  if (!module) {
    module = wasm.compile(kernelBytes(kind));
    modules.set(kind, module);
  }
  try {
    return await module;
  } catch (error) {
    throw new PowError("POW_WASM_UNAVAILABLE", `the ${kind} kernel failed to compile: ${reason(error)}`, {
      cause: error,
    });
  }
}

/**
 * A kernel instance that only the caller uses until it calls `release`, set
 * to the SIMD step the calibration found fastest here. Instances are reused: instantiating costs about 0.25 ms in Bun (a fresh
 * memory reservation), 5% of a difficulty-15 solve.
 */
export async function acquireKernel(
  runtime: PowRuntime,
  kind: KernelKind,
): Promise<{ kernel: KernelExports; release(): void }> {
  const module = await compileKernel(runtime, kind);
  const { idle } = cacheOf(runtime);
  const pool = idle.get(kind) ?? [];
  idle.set(kind, pool);
  const kernel =
    pool.pop() ?? ((await runtime.wasm!.instantiate(module)).exports as unknown as KernelExports);
  setSimdStep(kernel, KERNEL_LAYOUT, simdStepIn(runtime));
  return { kernel, release: () => void (pool.length < MAX_IDLE_INSTANCES && pool.push(kernel)) };
}

async function detect(runtime: PowRuntime): Promise<SolverBackend> {
  const { wasm } = runtime;
  if (!wasm) {
    runtime.warn(
      "lime pow: WebAssembly is not available; solving with the pure-JS fallback (several times slower)",
    );
    return "js";
  }
  const kinds: KernelKind[] = wasm.validate(simdProbeBytes())
    ? ["wasm-simd", "wasm-scalar"]
    : ["wasm-scalar"];
  const candidates: CalibrationCandidate[] = [];
  const releases = new Map<KernelKind, () => void>();
  for (const kind of kinds) {
    try {
      const { kernel, release } = await acquireKernel(runtime, kind);
      candidates.push({ kind, kernel });
      releases.set(kind, release);
    } catch (error) {
      runtime.warn(`lime pow: ${reason(error)}`);
    }
  }
  let calibration: Calibration | undefined;
  try {
    calibration = calibrate(candidates, () => runtime.now());
  } finally {
    // Only the chosen kernel's instance is kept for the solves: JavaScriptCore
    // backs eight WebAssembly memories per process with guard pages, and an
    // instance past those runs bounds-checked, 17% slower in a worker.
    if (calibration?.chosen) releases.get(calibration.chosen)?.();
  }
  cacheOf(runtime).calibration = calibration;
  for (const kind of calibration.incorrect) {
    runtime.warn(`lime pow: the ${kind} kernel gave a wrong answer in this runtime; not using it`);
  }
  if (calibration.chosen) return calibration.chosen;
  runtime.warn(
    "lime pow: no WebAssembly kernel is usable; solving with the pure-JS fallback (several times slower)",
  );
  return "js";
}

/**
 * The backend `solve` picks by default in `runtime`: calibrated on first use
 * (50–95 ms here: compiling both kernels, then eight timing rounds so the
 * engines' optimizing tiers are measured), then cached for the
 * runtime object; the reason for a fallback logged once.
 */
export function detectBackend(runtime: PowRuntime): Promise<SolverBackend> {
  const cache = cacheOf(runtime);
  cache.detected ??= detect(runtime);
  return cache.detected;
}

/**
 * How the SIMD kernel runs its steps in `runtime`: what the calibration
 * measured fastest, `single` before it has run (the step every engine runs
 * well).
 */
export function simdStepIn(runtime: PowRuntime): SimdStep {
  return cacheOf(runtime).calibration?.simdStep ?? "single";
}

/** What the calibration measured in `runtime`, once `detectBackend` has run there (the bench reports it). */
export function calibrationOf(runtime: PowRuntime): Calibration | undefined {
  return cacheOf(runtime).calibration;
}

/**
 * Which solver `solve` uses here: "wasm-simd" or "wasm-scalar", whichever
 * ran faster in a short calibration on first use (the SIMD kernel needs a
 * runtime with WebAssembly SIMD), or "js" (no WebAssembly, or a CSP forbids
 * compiling it).
 *
 * @example if ((await solverBackend()) === "js") showSlowSolverHint();
 */
export function solverBackend(): Promise<SolverBackend> {
  return detectBackend(defaultRuntime);
}
