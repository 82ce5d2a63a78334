/**
 * `solve`: the smallest valid nonce from "0" up, the order LIME's Python
 * solver uses, so every backend and every worker count gives the same answer.
 */
import { PowError } from "../errors.ts";
import {
  acquireKernel,
  compileKernel,
  defaultRuntime,
  detectBackend,
  type PowRuntime,
  SOLVER_BACKENDS,
  type SolverBackend,
  simdStepIn,
} from "./backend.ts";
import { MAX_NONCE } from "./constants.ts";
import { assertChallenge, assertDifficulty, difficultyMasks, isCanonicalNonce } from "./form.ts";
import { createJsSearcher } from "./js-search.ts";
import { type BatchResult, KERNEL_LAYOUT, SEARCH_EXHAUSTED, SEARCH_FOUND } from "./kernel/abi.ts";
import type { KernelKind } from "./kernel/modules.ts";
import { kernelBytes } from "./kernel/modules.ts";
import { loadChallenge, runKernelBatch } from "./kernel/runner.ts";
import {
  canShareMemory,
  defaultSpawner,
  type PoolKernel,
  type SpawnWorker,
  searchInWorkers,
  type WorkerPool,
} from "./workers.ts";
import { yieldToEventLoop } from "./yield.ts";

export interface SolveOptions {
  /** Aborting rejects the promise with `POW_ABORTED` at the next batch boundary (within ~20 ms). */
  signal?: AbortSignal | undefined;
  /**
   * Called with the number of hashes tried so far, increasing: after every
   * batch on one thread (~16 ms), every 16 ms from workers sharing memory,
   * the last call equal to the result's `hashes`.
   */
  onProgress?: ((hashes: number) => void) | undefined;
  /**
   * Threads to search with. Default: 1 below difficulty 22 (a worker costs
   * more to start than the whole search), else the core count up to 8.
   */
  workers?: number | undefined;
  /** Force a backend instead of the detected one; "auto" is the default. */
  backend?: SolverBackend | "auto" | undefined;
}

export interface PowSolution {
  /** The smallest valid nonce, as the canonical decimal string the wire format wants. */
  nonce: string;
  /** Hashes tried, by all workers; with workers, a few batches past the answer may be included. */
  hashes: number;
}

/** What `solve` takes from its surroundings; tests replace parts of it. */
export interface SolveEnvironment {
  runtime: PowRuntime;
  spawn: SpawnWorker | undefined;
  yieldToEventLoop: () => Promise<void>;
  hardwareConcurrency: number | undefined;
  /** First prefix to search (nonces from `startPrefix * 10`); 0 outside tests. */
  startPrefix: bigint;
  /** Whether workers hunt over shared memory (`canShareMemory`) or take one message per batch. */
  sharedMemory: boolean;
}

let environment: SolveEnvironment | undefined;

export interface CoreCountScope {
  navigator?: { hardwareConcurrency?: number };
  process?: { getBuiltinModule?: (id: string) => unknown };
}

/**
 * The cores this runtime may use: `navigator.hardwareConcurrency` (browsers,
 * Bun, Deno, Node 21+), else Node 20's `os.availableParallelism()`, reached
 * through `process.getBuiltinModule` so `core/` imports nothing of Node's.
 */
export function coreCount(scope: CoreCountScope): number | undefined {
  const fromNavigator = scope.navigator?.hardwareConcurrency;
  if (fromNavigator !== undefined) return fromNavigator;
  const os = scope.process?.getBuiltinModule?.("node:os") as
    | { availableParallelism?: () => number }
    | undefined;
  return os?.availableParallelism?.();
}

/** This runtime's environment, built on first use (one spawner, so one worker script URL). */
export function defaultEnvironment(): SolveEnvironment {
  environment ??= {
    runtime: defaultRuntime,
    spawn: defaultSpawner(globalThis as Parameters<typeof defaultSpawner>[0]),
    yieldToEventLoop,
    hardwareConcurrency: coreCount(globalThis as CoreCountScope),
    startPrefix: 0n,
    sharedMemory: canShareMemory(),
  };
  return environment;
}

/** The last prefix whose nonces can be at most 2^64 - 1. */
export const LAST_PREFIX = BigInt(MAX_NONCE) / 10n;
const MAX_WORKERS = 64;
/** Workers used when the caller does not say: the core count, up to 8. */
const DEFAULT_MAX_WORKERS = 8;

/** Throws `POW_INVALID_OPTION` unless `workers` is absent or an integer in 1..64. */
export function assertWorkerCount(workers: unknown): void {
  if (
    workers !== undefined &&
    !(Number.isInteger(workers) && (workers as number) >= 1 && (workers as number) <= MAX_WORKERS)
  ) {
    throw new PowError("POW_INVALID_OPTION", `workers must be an integer in 1..${MAX_WORKERS}`);
  }
}

/** The core count of `env`, at least 1 and at most 8. */
export function defaultWorkerCount(env: Pick<SolveEnvironment, "hardwareConcurrency">): number {
  return Math.max(1, Math.min(env.hardwareConcurrency ?? 1, DEFAULT_MAX_WORKERS));
}
const MULTI_WORKER_DIFFICULTY = 22;
/** Prefixes per worker batch: ~40k nonces, a few ms, so messaging stays under 1% of the time. */
export const WORKER_BATCH_PREFIXES = 4096;
/** Single-thread batches start small (an easy challenge returns at once) and grow towards ~16 ms. */
const FIRST_BATCH_PREFIXES = 1024;
/** Smallest batch on kept workers: ~60 µs of hashing when workers claim batches from shared memory, ~0.25 ms when each batch is a message. */
const MIN_SHARED_BATCH_PREFIXES = 64;
const MIN_MESSAGE_BATCH_PREFIXES = 256;
const MAX_BATCH_PREFIXES = 1 << 20;
const BATCH_TARGET_MS = 16;

const prefixText = (prefix: bigint): string => (prefix === 0n ? "" : String(prefix));

function aborted(signal: AbortSignal): PowError {
  return new PowError("POW_ABORTED", "the proof-of-work search was aborted", { cause: signal.reason });
}

function checkOptions(options: SolveOptions): void {
  const { signal, onProgress, workers, backend } = options;
  if (
    signal !== undefined &&
    (typeof signal !== "object" || signal === null || typeof signal.aborted !== "boolean")
  ) {
    throw new PowError("POW_INVALID_OPTION", "signal must be an AbortSignal");
  }
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw new PowError("POW_INVALID_OPTION", "onProgress must be a function");
  }
  assertWorkerCount(workers);
  if (backend !== undefined && backend !== "auto" && !SOLVER_BACKENDS.includes(backend)) {
    throw new PowError(
      "POW_INVALID_OPTION",
      `backend must be "auto" or one of ${SOLVER_BACKENDS.join(", ")}`,
    );
  }
}

type Search = (prefix: bigint, count: number) => BatchResult;

async function searchHere(
  search: Search,
  options: SolveOptions,
  env: SolveEnvironment,
  hashesBefore: number,
): Promise<PowSolution> {
  const { signal, onProgress } = options;
  let prefix = env.startPrefix;
  let batch = FIRST_BATCH_PREFIXES;
  let hashes = hashesBefore;
  for (;;) {
    const left = LAST_PREFIX - prefix + 1n;
    const count = left < BigInt(batch) ? Number(left) : batch;
    const started = performance.now();
    const result = search(prefix, count);
    const elapsed = performance.now() - started;
    hashes += result.hashes;
    onProgress?.(hashes);
    if (result.status === SEARCH_FOUND && isCanonicalNonce(result.nonce)) {
      return { nonce: result.nonce, hashes };
    }
    // A hit past 2^64 - 1 (only in the last batch) means nothing valid is left either.
    if (result.status === SEARCH_FOUND || result.status === SEARCH_EXHAUSTED || count === Number(left)) {
      throw new PowError("POW_EXHAUSTED", "no valid nonce up to 2^64 - 1");
    }
    prefix += BigInt(count);
    // Multiples of 4 keep the SIMD kernel's four-prefix groups aligned.
    if (elapsed < BATCH_TARGET_MS / 2 && batch < MAX_BATCH_PREFIXES) batch *= 2;
    else if (elapsed > BATCH_TARGET_MS * 2 && batch > 4) batch /= 2;
    await env.yieldToEventLoop();
    if (signal?.aborted) throw aborted(signal);
  }
}

/** Workers kept across solves (`createSolver`): how many, and the pool running a given kernel. */
export interface KeptWorkers {
  readonly workers: number;
  of(backend: KernelKind, kernel: PoolKernel): WorkerPool;
}

/**
 * Batch size on kept workers: about sixteen batches per worker over an
 * average search, so an easy challenge is not left waiting behind a large
 * batch (each worker hashes at most one batch past the answer), but not so
 * small that claiming a batch costs much beside hashing it.
 */
export function poolBatchPrefixes(difficulty: number, workers: number, sharedMemory: boolean): number {
  const perBatch = 2 ** difficulty / (10 * workers * 16);
  const size = 2 ** Math.floor(Math.log2(Math.max(perBatch, 1)));
  const smallest = sharedMemory ? MIN_SHARED_BATCH_PREFIXES : MIN_MESSAGE_BATCH_PREFIXES;
  return Math.min(WORKER_BATCH_PREFIXES, Math.max(smallest, size));
}

/** Internal form of `solve` with its environment spelled out (tests, the bench). */
export async function solveIn(
  env: SolveEnvironment,
  challenge: string,
  difficulty: number,
  options: SolveOptions = {},
  pool?: KeptWorkers,
): Promise<PowSolution> {
  assertChallenge(challenge);
  assertDifficulty(difficulty);
  if (typeof options !== "object" || options === null) {
    throw new PowError("POW_INVALID_OPTION", "options must be an object");
  }
  checkOptions(options);
  const { signal } = options;
  if (signal?.aborted) throw aborted(signal);

  const requested = options.backend ?? "auto";
  const backend = requested === "auto" ? await detectBackend(env.runtime) : requested;
  const masks = difficultyMasks(difficulty);
  if (backend === "js") {
    const searcher = createJsSearcher(challenge, masks[0], masks[1]);
    return searchHere((prefix, count) => searcher.search(prefixText(prefix), count), options, env, 0);
  }

  let hashesBefore = 0;
  const onWorkerProgress = (hashes: number) => {
    hashesBefore = hashes;
    options.onProgress?.(hashes);
  };
  const workers =
    pool?.workers ?? options.workers ?? (difficulty >= MULTI_WORKER_DIFFICULTY ? defaultWorkerCount(env) : 1);
  if (workers > 1 && env.spawn) {
    // Compiling here first surfaces POW_WASM_UNAVAILABLE before any worker starts.
    const module = await compileKernel(env.runtime, backend);
    if (signal?.aborted) throw aborted(signal);
    const kernel = { bytes: kernelBytes(backend), module, simdStep: simdStepIn(env.runtime) };
    const search = {
      challenge,
      mask0: masks[0],
      mask1: masks[1],
      startPrefix: env.startPrefix,
      lastPrefix: LAST_PREFIX,
      signal,
      onProgress: onWorkerProgress,
    };
    try {
      return pool
        ? await pool
            .of(backend, kernel)
            .search({ ...search, batchPrefixes: poolBatchPrefixes(difficulty, workers, env.sharedMemory) })
        : await searchInWorkers({
            ...search,
            ...kernel,
            workers,
            spawn: env.spawn,
            sharedMemory: env.sharedMemory,
            batchPrefixes: WORKER_BATCH_PREFIXES,
          });
    } catch (error) {
      // A page whose CSP refuses blob: workers, or a worker killed for memory,
      // must not cost the agent its login: the answer is the same on one thread.
      if (!(error instanceof PowError && error.code === "POW_WORKER_FAILED")) throw error;
      env.runtime.warn(`lime pow: ${error.message}; solving on one thread`);
    }
  } else if (workers > 1) {
    env.runtime.warn("lime pow: this runtime has no workers; solving on one thread");
  }
  // A kernel instance of our own: concurrent solves never share its memory.
  const { kernel, release } = await acquireKernel(env.runtime, backend);
  try {
    if (signal?.aborted) throw aborted(signal);
    loadChallenge(kernel, KERNEL_LAYOUT, challenge);
    const search: Search = (prefix, count) =>
      runKernelBatch(kernel, KERNEL_LAYOUT, prefixText(prefix), count, masks[0], masks[1]);
    return await searchHere(search, options, env, hashesBefore);
  } finally {
    release();
  }
}

/**
 * Finds the smallest nonce such that SHA-256(challenge + nonce) has at least
 * `difficulty` leading zero bits, searching "0", "1", "2", ... in WebAssembly
 * (SIMD where available), optionally across workers.
 *
 * Throws `POW_INVALID_CHALLENGE` / `POW_INVALID_DIFFICULTY` / `POW_INVALID_OPTION`
 * on bad input; rejects with `POW_ABORTED` when `signal` aborts and
 * `POW_WASM_UNAVAILABLE` when a forced WASM backend cannot load. Workers that
 * cannot start or crash are logged and the search finishes on this thread.
 *
 * @example
 * const { nonce } = await solve(challenge, 15, { signal: AbortSignal.timeout(10_000) });
 * // POST { pow_nonce: nonce }
 */
export function solve(
  challenge: string,
  difficulty: number,
  options: SolveOptions = {},
): Promise<PowSolution> {
  return solveIn(defaultEnvironment(), challenge, difficulty, options);
}
