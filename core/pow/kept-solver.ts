/**
 * `createSolver`: a solver that keeps its workers between solves. Starting a
 * worker and instantiating the kernel in it costs more than a whole
 * difficulty-15 search, so `solve` uses one thread below difficulty 22; a
 * caller that solves again and again (an agent fleet, a crawler) keeps the
 * workers warm here and splits even easy searches across them.
 */
import type { KernelKind } from "./kernel/modules.ts";
import {
  assertWorkerCount,
  defaultEnvironment,
  defaultWorkerCount,
  type KeptWorkers,
  type PowSolution,
  type SolveEnvironment,
  type SolveOptions,
  solveIn,
} from "./solver.ts";
import { type PoolKernel, solverClosed, WorkerPool } from "./workers.ts";

export interface SolverOptions {
  /** Workers to keep. Default: the core count, up to 8. 1 solves on the calling thread. */
  workers?: number | undefined;
}

export interface PowSolver {
  /** As `solve`, on this solver's workers (a `workers` option is ignored: the solver's count applies). */
  solve(challenge: string, difficulty: number, options?: SolveOptions): Promise<PowSolution>;
  /** Terminates the workers; later solves reject with `POW_SOLVER_CLOSED`. */
  close(): void;
}

/** Internal form of `createSolver` with its environment spelled out (tests, the bench). */
export function createSolverIn(env: SolveEnvironment, options: SolverOptions = {}): PowSolver {
  assertWorkerCount(options?.workers);
  let workers = options?.workers ?? defaultWorkerCount(env);
  if (workers > 1 && !env.spawn) {
    // Said once here, not at every solve.
    env.runtime.warn("lime pow: this runtime has no workers; the solver solves on one thread");
    workers = 1;
  }
  const pools = new Map<KernelKind, WorkerPool>();
  let closed = false;
  const kept: KeptWorkers = {
    workers,
    of(backend: KernelKind, kernel: PoolKernel): WorkerPool {
      // A solve that was compiling its kernel when close() came must not start workers.
      if (closed) throw solverClosed();
      let pool = pools.get(backend);
      if (!pool) {
        pool = new WorkerPool({ ...kernel, workers, spawn: env.spawn!, sharedMemory: env.sharedMemory });
        pools.set(backend, pool);
      }
      return pool;
    },
  };
  const close = () => {
    closed = true;
    for (const pool of pools.values()) pool.close();
    pools.clear();
  };
  return {
    solve(challenge, difficulty, solveOptions = {}) {
      if (closed) return Promise.reject(solverClosed());
      // The solver's workers, whatever the options say; solveIn checks everything else.
      const own =
        typeof solveOptions === "object" && solveOptions !== null
          ? { ...(solveOptions as SolveOptions), workers: undefined }
          : solveOptions;
      return solveIn(env, challenge, difficulty, own, kept);
    },
    close,
  };
}

/**
 * A solver that keeps `workers` workers (default: the core count, up to 8)
 * between solves, each with the kernel ready, and splits every search across
 * them, easy ones included. Idle workers do not keep a Node or Bun process
 * alive; in Deno and browsers, `close()` the solver when done.
 *
 * @example
 * const solver = createSolver();
 * const agent = new AgentClient({ solver }); // @lime-ts/sdk: every login solves on the same workers
 * // ... when the program is done with it:
 * solver.close();
 */
export function createSolver(options: SolverOptions = {}): PowSolver {
  return createSolverIn(defaultEnvironment(), options);
}
