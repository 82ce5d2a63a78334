import { afterEach, describe, expect, test } from "bun:test";
import { createSolver, type PowSolver } from "../../../core/pow/index.ts";
import { createSolverIn } from "../../../core/pow/kept-solver.ts";
import {
  coreCount,
  defaultEnvironment,
  poolBatchPrefixes,
  type SolveEnvironment,
} from "../../../core/pow/solver.ts";
import { type SpawnWorker, webWorkerSpawner } from "../../../core/pow/workers.ts";
import { bundleFor, repoRoot } from "../../support/runtimes.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { type PowVector, seededChallenge } from "./reference.ts";
import { powRejection } from "./rejection.ts";
import vectorFile from "./vectors.json";

const vectors: PowVector[] = vectorFile.vectors;
const v20 = vectors.find((x) => x.difficulty === 20)!;

/** Real Web Workers, counted, with a hook on every worker's listeners. */
function countingSpawner(hooks: { onSpawn?: (count: number, fail: (error: unknown) => void) => void } = {}) {
  const real = webWorkerSpawner({ Worker, Blob, URL });
  const counts = { spawned: 0, terminated: 0 };
  const spawn: SpawnWorker = async (listeners) => {
    const handle = await real(listeners);
    counts.spawned += 1;
    hooks.onSpawn?.(counts.spawned, listeners.error);
    return {
      ...handle,
      terminate: () => {
        counts.terminated += 1;
        handle.terminate();
      },
    };
  };
  return { spawn, counts };
}

const open: PowSolver[] = [];
afterEach(() => {
  for (const solver of open.splice(0)) solver.close();
});
const closedAfterTest = (solver: PowSolver): PowSolver => {
  open.push(solver);
  return solver;
};

const quiet = () => {
  const warnings: string[] = [];
  const runtime = { ...defaultEnvironment().runtime, warn: (message: string) => warnings.push(message) };
  return { runtime, warnings };
};

const environment = (overrides: Partial<SolveEnvironment>): SolveEnvironment => ({
  ...defaultEnvironment(),
  ...overrides,
});

describe("createSolver: workers kept across solves", () => {
  for (const sharedMemory of [true, false]) {
    test(
      `every vector's smallest nonce, twice, on the same two workers (${sharedMemory ? "shared memory" : "one message per batch"})`,
      async () => {
        const { spawn, counts } = countingSpawner();
        const solver = createSolverIn(environment({ spawn, sharedMemory }), { workers: 2 });
        try {
          for (let round = 0; round < 2; round++) {
            for (const v of vectors) {
              const solution = await solver.solve(v.challenge, v.difficulty);
              expect(solution.nonce).toBe(v.nonce);
              expect(solution.hashes).toBeGreaterThanOrEqual(Number(v.nonce) + 1);
            }
          }
          expect(counts.spawned).toBe(2);
          expect(counts.terminated).toBe(0);
        } finally {
          solver.close();
        }
        expect(counts.terminated).toBe(2);
      },
      SLOW_TEST_TIMEOUT_MS,
    );
  }

  test(
    "concurrent solves on one solver wait their turn and each gets its own answer",
    async () => {
      const solver = closedAfterTest(createSolver({ workers: 2 }));
      const solutions = await Promise.all(vectors.map((v) => solver.solve(v.challenge, v.difficulty)));
      expect(solutions.map((s) => s.nonce)).toEqual(vectors.map((v) => v.nonce));
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "an abort stops the workers' search, and the next solve on the same workers is right",
    async () => {
      for (const sharedMemory of [true, false]) {
        const { spawn, counts } = countingSpawner();
        const solver = closedAfterTest(createSolverIn(environment({ spawn, sharedMemory }), { workers: 2 }));
        const controller = new AbortController();
        // Difficulty 40 never finishes here: only the abort ends it.
        const error = await powRejection(
          solver.solve(seededChallenge("kept-abort", 0), 40, {
            signal: controller.signal,
            onProgress: () => controller.abort(new Error("user cancelled")),
          }),
        );
        expect(error.code).toBe("POW_ABORTED");
        expect((await solver.solve(v20.challenge, v20.difficulty)).nonce).toBe(v20.nonce);
        expect(counts.spawned).toBe(2);
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "close() rejects the running solve and every later one with POW_SOLVER_CLOSED",
    async () => {
      const { spawn, counts } = countingSpawner();
      const solver = createSolverIn(environment({ spawn }), { workers: 2 });
      const running = solver.solve(seededChallenge("kept-close", 0), 40, {
        onProgress: () => solver.close(),
      });
      expect((await powRejection(running)).code).toBe("POW_SOLVER_CLOSED");
      expect(counts.terminated).toBe(2);
      expect((await powRejection(solver.solve(v20.challenge, v20.difficulty))).code).toBe(
        "POW_SOLVER_CLOSED",
      );
      solver.close(); // twice is harmless
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("close() during a solve's first kernel compile starts no worker", async () => {
    const { spawn, counts } = countingSpawner();
    const solver = createSolverIn(environment({ spawn }), { workers: 2 });
    const solving = solver.solve(v20.challenge, v20.difficulty);
    solver.close();
    expect((await powRejection(solving)).code).toBe("POW_SOLVER_CLOSED");
    expect(counts.spawned).toBe(0);
  });

  test(
    "a worker that fails: this solve finishes on one thread with a warning, the next starts fresh workers",
    async () => {
      const { runtime, warnings } = quiet();
      const { spawn, counts } = countingSpawner({
        onSpawn: (count, fail) => count === 2 && fail(new Error("out of memory")),
      });
      const solver = closedAfterTest(createSolverIn(environment({ runtime, spawn }), { workers: 2 }));
      expect((await solver.solve(v20.challenge, v20.difficulty)).nonce).toBe(v20.nonce);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("out of memory");
      expect(counts.terminated).toBe(2);
      expect((await solver.solve(v20.challenge, v20.difficulty)).nonce).toBe(v20.nonce);
      expect(counts.spawned).toBe(4);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("one worker, or a runtime without workers, solves on the calling thread", async () => {
    const { spawn, counts } = countingSpawner();
    const single = closedAfterTest(createSolverIn(environment({ spawn }), { workers: 1 }));
    expect((await single.solve(v20.challenge, v20.difficulty)).nonce).toBe(v20.nonce);
    expect(counts.spawned).toBe(0);
    const { runtime, warnings } = quiet();
    const none = closedAfterTest(createSolverIn(environment({ runtime, spawn: undefined }), { workers: 2 }));
    for (let i = 0; i < 2; i++)
      expect((await none.solve(v20.challenge, v20.difficulty)).nonce).toBe(v20.nonce);
    expect(warnings).toEqual(["lime pow: this runtime has no workers; the solver solves on one thread"]);
  });

  test("bad options and bad input get typed errors, not a started worker", async () => {
    for (const workers of [0, 1.5, 65, Number.NaN]) {
      expect(() => createSolver({ workers })).toThrow(
        expect.objectContaining({ code: "POW_INVALID_OPTION" }),
      );
    }
    const { spawn, counts } = countingSpawner();
    const solver = closedAfterTest(createSolverIn(environment({ spawn }), { workers: 2 }));
    expect((await powRejection(solver.solve("not hex", 15))).code).toBe("POW_INVALID_CHALLENGE");
    expect((await powRejection(solver.solve(v20.challenge, 99))).code).toBe("POW_INVALID_DIFFICULTY");
    expect((await powRejection(solver.solve(v20.challenge, 15, "fast" as never))).code).toBe(
      "POW_INVALID_OPTION",
    );
    expect(counts.spawned).toBe(0);
  });

  test("cores: navigator's count where there is one, Node 20's availableParallelism() otherwise", () => {
    expect(coreCount({ navigator: { hardwareConcurrency: 6 } })).toBe(6);
    const node20 = {
      process: {
        getBuiltinModule: (id: string) => (id === "node:os" ? { availableParallelism: () => 3 } : undefined),
      },
    };
    expect(coreCount(node20)).toBe(3);
    expect(coreCount({ process: {} })).toBeUndefined();
    expect(coreCount({})).toBeUndefined();
  });

  test("batches: about sixteen per worker over an average search, bounded both ways", () => {
    expect(poolBatchPrefixes(15, 2, true)).toBe(64);
    expect(poolBatchPrefixes(15, 2, false)).toBe(256);
    expect(poolBatchPrefixes(20, 2, true)).toBe(2048);
    expect(poolBatchPrefixes(30, 8, true)).toBe(4096);
    expect(poolBatchPrefixes(0, 64, true)).toBe(64);
  });

  test(
    "a solver nobody closes does not keep a Bun or Node process alive",
    async () => {
      const entry = `${import.meta.dir}/kept-solver-exit.ts`;
      const runs = [
        [process.execPath, entry],
        ["node", await bundleFor(entry, "node", "kept-solver-exit")],
      ];
      for (const argv of runs) {
        const child = Bun.spawn(argv, { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
        // A hang is the failure: kill it well inside the test's limit.
        const timer = setTimeout(() => child.kill(), 30_000);
        const code = await child.exited;
        clearTimeout(timer);
        expect({ argv: argv[0], code, out: (await new Response(child.stdout).text()).trim() }).toEqual({
          argv: argv[0],
          code: 0,
          out: "solved",
        });
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
