import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PowError } from "../../../core/errors.ts";
import {
  calibrationOf,
  defaultRuntime,
  type PowRuntime,
  type SolverBackend,
  solverBackend,
} from "../../../core/pow/backend.ts";
import { MAX_NONCE } from "../../../core/pow/constants.ts";
import { solve, verify } from "../../../core/pow/index.ts";
import { defaultEnvironment, LAST_PREFIX, type SolveEnvironment, solveIn } from "../../../core/pow/solver.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import {
  leadingZeroBitsHex,
  nodeDigestHex,
  nodeSmallestNonce,
  type PowVector,
  seededChallenge,
} from "./reference.ts";
import { powRejection } from "./rejection.ts";
import vectorFile from "./vectors.json";
import { inProcessSpawner } from "./worker-harness.ts";

const vectors: PowVector[] = vectorFile.vectors;
const BACKENDS: SolverBackend[] = ["wasm-simd", "wasm-scalar", "js"];

const quietRuntime = (): PowRuntime & { warnings: string[] } => {
  const warnings: string[] = [];
  return {
    wasm: WebAssembly,
    now: () => performance.now(),
    warn: (message) => warnings.push(message),
    warnings,
  };
};

const environment = (overrides: Partial<SolveEnvironment> = {}): SolveEnvironment => ({
  ...defaultEnvironment(),
  runtime: quietRuntime(),
  ...overrides,
});

describe("solve: published vectors", () => {
  // The JS fallback runs on one thread whatever `workers` says (backend.test.ts).
  const combos: Array<[SolverBackend, number]> = [
    ["wasm-simd", 1],
    ["wasm-simd", 2],
    ["wasm-scalar", 1],
    ["wasm-scalar", 2],
    ["js", 1],
  ];
  for (const [backend, workers] of combos) {
    test(
      `${backend}, workers=${workers}: returns exactly the smallest valid nonce of every vector`,
      async () => {
        for (const v of vectors) {
          const solution = await solve(v.challenge, v.difficulty, { backend, workers });
          expect({ difficulty: v.difficulty, nonce: solution.nonce }).toEqual({
            difficulty: v.difficulty,
            nonce: v.nonce,
          });
          expect(solution.hashes).toBeGreaterThanOrEqual(Number(v.nonce) + 1);
          expect(verify(v.challenge, v.difficulty, solution.nonce)).toBe(true);
        }
      },
      SLOW_TEST_TIMEOUT_MS,
    );
  }

  test(
    "workers=2 through node:worker_threads (the Node 20 path) returns the same nonces",
    async () => {
      const env = environment({
        spawn: (await import("../../../core/pow/workers.ts")).nodeWorkerSpawner((s) => import(s)),
      });
      for (const v of vectors.filter((x) => x.difficulty >= 8)) {
        expect((await solveIn(env, v.challenge, v.difficulty, { workers: 2 })).nonce).toBe(v.nonce);
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("the default backend is a WASM kernel the calibration chose", async () => {
    const backend = await solverBackend();
    expect(["wasm-simd", "wasm-scalar"]).toContain(backend);
    expect(calibrationOf(defaultRuntime)!.chosen).toBe(backend as "wasm-simd" | "wasm-scalar");
  });

  test(
    "property: verify accepts what solve returns, and it is the reference's smallest nonce",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.integer({ min: 0, max: 10 }),
          fc.constantFrom(...BACKENDS),
          async (bytes, difficulty, backend) => {
            const challenge = Buffer.from(bytes).toString("hex");
            const { nonce } = await solve(challenge, difficulty, { backend });
            expect(verify(challenge, difficulty, nonce)).toBe(true);
            expect(nonce).toBe(nodeSmallestNonce(challenge, difficulty));
          },
        ),
        { numRuns: 60 },
      );
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

describe("solve: concurrency and worker failures", () => {
  test(
    "concurrent solves on one thread do not share a kernel instance",
    async () => {
      const runs = vectors
        .filter((v) => v.difficulty <= 16)
        .flatMap((v) => BACKENDS.map((backend) => ({ v, backend })));
      const solutions = await Promise.all(
        runs.map(({ v, backend }) => solve(v.challenge, v.difficulty, { backend })),
      );
      expect(solutions.map((s) => s.nonce)).toEqual(runs.map(({ v }) => v.nonce));
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "workers that cannot start (CSP worker-src): logged, and the search finishes on this thread",
    async () => {
      const runtime = quietRuntime();
      const v = vectors.find((x) => x.difficulty === 16)!;
      const seen: number[] = [];
      const refused = environment({ runtime, spawn: () => Promise.reject(new Error("worker-src 'none'")) });
      const solution = await solveIn(refused, v.challenge, v.difficulty, {
        workers: 2,
        onProgress: (h) => seen.push(h),
      });
      expect(solution.nonce).toBe(v.nonce);
      expect(runtime.warnings).toHaveLength(1);
      expect(runtime.warnings[0]).toContain("worker-src 'none'");
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "a worker that crashes after some batches: progress keeps increasing into the one-thread search",
    async () => {
      const runtime = quietRuntime();
      const v = vectors.find((x) => x.difficulty === 20)!;
      let batches = 0;
      const { spawn } = inProcessSpawner();
      const crashing: typeof spawn = async (listeners) =>
        spawn({
          ...listeners,
          message: (reply) => (++batches === 3 ? listeners.error("out of memory") : listeners.message(reply)),
        });
      const seen: number[] = [];
      // One message per batch: the in-process workers run a shared-memory hunt in one go.
      const env = environment({ runtime, spawn: crashing, sharedMemory: false });
      const solution = await solveIn(env, v.challenge, v.difficulty, {
        workers: 2,
        onProgress: (h) => seen.push(h),
      });
      expect(solution.nonce).toBe(v.nonce);
      expect(runtime.warnings[0]).toContain("out of memory");
      expect(seen.length).toBeGreaterThan(3);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
      expect(seen.at(-1)).toBe(solution.hashes);
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

describe("solve: progress and abort", () => {
  test("reports increasing hash counts per batch, the last one equal to the result's", async () => {
    const v = vectors.find((x) => x.difficulty === 16)!;
    for (const backend of BACKENDS) {
      const seen: number[] = [];
      const solution = await solve(v.challenge, v.difficulty, { backend, onProgress: (h) => seen.push(h) });
      expect(seen.length).toBeGreaterThan(1);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
      expect(seen.at(-1)).toBe(solution.hashes);
    }
  });

  test(
    "reports progress from workers too",
    async () => {
      const v = vectors.find((x) => x.difficulty === 20)!;
      const seen: number[] = [];
      const solution = await solve(v.challenge, v.difficulty, {
        workers: 2,
        onProgress: (h) => seen.push(h),
      });
      expect(solution.nonce).toBe(v.nonce);
      expect(seen.at(-1)).toBe(solution.hashes);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("a pre-aborted signal rejects with POW_ABORTED before any hashing", async () => {
    const controller = new AbortController();
    controller.abort(new Error("user left"));
    for (const backend of BACKENDS) {
      for (const workers of [1, 2]) {
        let progress = 0;
        const error = await powRejection(
          solve(seededChallenge("abort", 0), 40, {
            backend,
            workers,
            signal: controller.signal,
            onProgress: () => progress++,
          }),
        );
        expect(error.code).toBe("POW_ABORTED");
        expect((error.cause as Error).message).toBe("user left");
        expect(progress).toBe(0);
      }
    }
  });

  test(
    "aborting mid-solve rejects with POW_ABORTED at the next batch, for every backend and with workers",
    async () => {
      for (const backend of BACKENDS) {
        for (const workers of [1, 2]) {
          const controller = new AbortController();
          let batches = 0;
          const error = await powRejection(
            solve(seededChallenge("abort", 1), 40, {
              backend,
              workers,
              signal: controller.signal,
              onProgress: () => {
                batches++;
                if (batches === 2) controller.abort();
              },
            }),
          );
          expect(error.code).toBe("POW_ABORTED");
          expect(batches).toBeGreaterThanOrEqual(2);
        }
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("an abort during worker start-up terminates the workers already started", async () => {
    const controller = new AbortController();
    const { spawn, spawned, terminated } = inProcessSpawner({
      onSpawn: (n) => n === 2 && controller.abort(),
    });
    const error = await powRejection(
      solveIn(environment({ spawn }), seededChallenge("abort", 2), 40, {
        workers: 3,
        signal: controller.signal,
      }),
    );
    expect(error.code).toBe("POW_ABORTED");
    expect(spawned()).toBe(2);
    expect(terminated()).toBe(2);
  });

  test("an onProgress that throws rejects the solve with its error", async () => {
    const boom = new Error("progress sink closed");
    for (const workers of [1, 2]) {
      const promise = solve(seededChallenge("progress-throws", 0), 40, {
        workers,
        onProgress: () => {
          throw boom;
        },
      });
      expect(promise).rejects.toBe(boom);
      await promise.catch(() => undefined);
    }
  });
});

describe("solve: bad input", () => {
  test("malformed challenge, difficulty or options reject with typed codes", async () => {
    const c = seededChallenge("bad", 0);
    expect((await powRejection(solve("ABC", 1))).code).toBe("POW_INVALID_CHALLENGE");
    expect((await powRejection(solve(c.toUpperCase(), 1))).code).toBe("POW_INVALID_CHALLENGE");
    expect((await powRejection(solve(c, 41))).code).toBe("POW_INVALID_DIFFICULTY");
    expect((await powRejection(solve(c, 1.5))).code).toBe("POW_INVALID_DIFFICULTY");
    const badOptions: unknown[] = [
      null,
      "fast",
      { workers: 0 },
      { workers: 1.5 },
      { workers: 65 },
      { workers: Number.NaN },
      { backend: "gpu" },
      { onProgress: 1 },
      { signal: {} },
      { signal: "abort" },
      { signal: null },
    ];
    for (const options of badOptions) {
      expect((await powRejection(solve(c, 1, options as never))).code).toBe("POW_INVALID_OPTION");
    }
  });

  test("undefined option values mean the defaults (as the SDK passes them)", async () => {
    const v = vectors.find((x) => x.difficulty === 8)!;
    const solution = await solve(v.challenge, v.difficulty, {
      signal: undefined,
      onProgress: undefined,
      workers: undefined,
      backend: undefined,
    });
    expect(solution.nonce).toBe(v.nonce);
    expect((await solve(v.challenge, v.difficulty, { backend: "auto" })).nonce).toBe(v.nonce);
    expect((await solve(v.challenge, v.difficulty)).nonce).toBe(v.nonce);
  });

  test("property: any challenge/difficulty gets a nonce or a typed error, never a crash", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 70 }),
        fc.oneof(fc.integer({ min: -3, max: 45 }), fc.double()),
        async (challenge, difficulty) => {
          try {
            const { nonce } = await solve(challenge, difficulty > 12 && difficulty <= 40 ? 4 : difficulty);
            expect(/^[0-9a-f]{64}$/.test(challenge)).toBe(true);
            expect(typeof nonce).toBe("string");
          } catch (error) {
            expect(error).toBeInstanceOf(PowError);
            expect(["POW_INVALID_CHALLENGE", "POW_INVALID_DIFFICULTY"]).toContain((error as PowError).code);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("solve: the end of the nonce space (2^64 - 1)", () => {
  // A challenge whose only hits at difficulty 2 near the end are past 2^64 - 1.
  const lastTen = Array.from({ length: 10 }, (_, d) => `${LAST_PREFIX}${d}`);
  const onlyPastMax = Array.from({ length: 400 }, (_, i) => seededChallenge("end", i)).find((c) => {
    const valid = lastTen.map((n) => leadingZeroBitsHex(nodeDigestHex(c, n)) >= 2);
    return !valid.slice(0, 6).some(Boolean) && valid.slice(6).some(Boolean);
  })!;

  test(
    "solves up to MAX_NONCE and not beyond",
    async () => {
      expect(`${LAST_PREFIX}5`).toBe(MAX_NONCE);
      for (const backend of BACKENDS) {
        for (const workers of [1, 2]) {
          const env = environment({ startPrefix: LAST_PREFIX - 2n });
          const first = await solveIn(env, seededChallenge("end", 0), 0, { backend, workers });
          expect(first.nonce).toBe(`${LAST_PREFIX - 2n}0`);
          const atEnd = environment({ startPrefix: LAST_PREFIX });
          const error = await powRejection(solveIn(atEnd, onlyPastMax, 2, { backend, workers }));
          expect(error.code).toBe("POW_EXHAUSTED");
          const none = await powRejection(solveIn(env, seededChallenge("end", 1), 40, { backend, workers }));
          expect(none.code).toBe("POW_EXHAUSTED");
        }
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
