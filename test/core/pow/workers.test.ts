import { describe, expect, test } from "bun:test";
import { Worker as NodeWorker } from "node:worker_threads";
import { difficultyMasks } from "../../../core/pow/form.ts";
import type { SimdStep } from "../../../core/pow/kernel/abi.ts";
import { kernelBytes } from "../../../core/pow/kernel/modules.ts";
import { LAST_PREFIX } from "../../../core/pow/solver.ts";
import {
  defaultSpawner,
  nodeWorkerSpawner,
  type SpawnWorker,
  searchInWorkers,
  type WorkerHandle,
  WorkerPool,
  type WorkerRequest,
  type WorkerSearch,
  webWorkerSpawner,
  workerScript,
} from "../../../core/pow/workers.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import type { PowVector } from "./reference.ts";
import { powRejection } from "./rejection.ts";
import vectorFile from "./vectors.json";
import { inProcessSpawner } from "./worker-harness.ts";

const vectors: PowVector[] = vectorFile.vectors;
const v20 = vectors.find((x) => x.difficulty === 20)!;

const searchFor = (v: PowVector, spawn: SpawnWorker, overrides: Partial<WorkerSearch> = {}): WorkerSearch => {
  const [mask0, mask1] = difficultyMasks(v.difficulty);
  return {
    challenge: v.challenge,
    mask0,
    mask1,
    bytes: kernelBytes("wasm-simd"),
    workers: 2,
    batchPrefixes: 4096,
    startPrefix: 0n,
    lastPrefix: LAST_PREFIX,
    spawn,
    ...overrides,
  };
};

/** A Blob whose content is replaced, to start a real worker that crashes. */
const crashingBlob = class extends Blob {
  constructor() {
    super(["throw new Error('worker crashed at start');"], { type: "text/javascript" });
  }
} as typeof Blob;

describe("worker split", () => {
  test(
    "the answer does not depend on batch size or worker count (smallest-nonce rule)",
    async () => {
      const { spawn } = inProcessSpawner();
      for (const sharedMemory of [true, false]) {
        for (const workers of [1, 2, 3, 5]) {
          for (const batchPrefixes of [4, 12, 400, 4096]) {
            const v = vectors.find((x) => x.difficulty === 12)!;
            const solution = await searchInWorkers(
              searchFor(v, spawn, { workers, batchPrefixes, sharedMemory }),
            );
            expect(solution.nonce).toBe(v.nonce);
          }
        }
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "real workers racing for tiny batches over shared memory still return the smallest nonce",
    async () => {
      // Batches of 4 prefixes: hundreds of claims per search, hits in many of them at low difficulty.
      const spawn = webWorkerSpawner({ Worker, Blob, URL });
      for (const v of vectors.filter((x) => x.difficulty >= 4 && x.difficulty <= 16)) {
        for (const workers of [2, 3]) {
          const solution = await searchInWorkers(
            searchFor(v, spawn, { workers, batchPrefixes: 4, sharedMemory: true }),
          );
          expect(solution.nonce).toBe(v.nonce);
          expect(solution.hashes).toBeGreaterThanOrEqual(Number(v.nonce) + 1);
        }
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "a later batch's hit waits for the earlier batches, which may hold a smaller one",
    async () => {
      // Difficulty 4 has hits everywhere: every batch reports one, only the first counts.
      const v = { ...vectors.find((x) => x.difficulty === 4)!, nonce: "6" };
      const { spawn } = inProcessSpawner();
      for (const sharedMemory of [true, false]) {
        const solution = await searchInWorkers(
          searchFor(v, spawn, { workers: 4, batchPrefixes: 4, sharedMemory }),
        );
        expect(solution.nonce).toBe(v.nonce);
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "real Web Workers and real worker threads agree with the vectors, sent the kernel's bytes or its module",
    async () => {
      const spawners: SpawnWorker[] = [
        webWorkerSpawner({ Worker, Blob, URL }),
        nodeWorkerSpawner((specifier) => import(specifier)),
      ];
      const module = await WebAssembly.compile(kernelBytes("wasm-simd"));
      for (const spawn of spawners) {
        expect((await searchInWorkers(searchFor(v20, spawn))).nonce).toBe(v20.nonce);
        // The compiled module instead of the bytes: what solve sends.
        expect((await searchInWorkers(searchFor(v20, spawn, { module }))).nonce).toBe(v20.nonce);
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("workers hash with the SIMD step they are given, and find the same nonce", async () => {
    const harness = inProcessSpawner();
    for (const simdStep of [undefined, "single", "paired", "multiply"] as const) {
      const steps: SimdStep[] = [];
      const recording: SpawnWorker = async (listeners) => {
        const handle = await harness.spawn(listeners);
        return {
          post: (request) => {
            if (request.type === "init") steps.push(request.simdStep);
            handle.post(request);
          },
          terminate: handle.terminate,
        };
      };
      const solution = await searchInWorkers(searchFor(v20, recording, { simdStep }));
      expect(solution.nonce).toBe(v20.nonce);
      expect(steps).toEqual([simdStep ?? "single", simdStep ?? "single"]);
    }
    // And in real workers, where the step is set by the shipped source text.
    const real = webWorkerSpawner({ Worker, Blob, URL });
    for (const simdStep of ["paired", "multiply"] as const) {
      expect((await searchInWorkers(searchFor(v20, real, { simdStep }))).nonce).toBe(v20.nonce);
    }
  });

  test("a runtime that cannot post a compiled module gets the kernel's bytes instead", async () => {
    const module = await WebAssembly.compile(kernelBytes("wasm-simd"));
    const harness = inProcessSpawner();
    const sent: string[] = [];
    const refusingModules: SpawnWorker = async (listeners) => {
      const handle = await harness.spawn(listeners);
      return {
        post: (request) => {
          if (request.type === "init") {
            sent.push(request.kernel instanceof WebAssembly.Module ? "module" : "bytes");
            if (request.kernel instanceof WebAssembly.Module) {
              throw new DOMException("WebAssembly.Module could not be cloned", "DataCloneError");
            }
          }
          handle.post(request);
        },
        terminate: handle.terminate,
      };
    };
    expect((await searchInWorkers(searchFor(v20, refusingModules, { module }))).nonce).toBe(v20.nonce);
    expect(sent).toEqual(["module", "bytes", "module", "bytes"]);
    // Bytes that cannot be posted either leave nothing to fall back to: a worker failure.
    const refusingAll: SpawnWorker = async (listeners) => ({
      ...(await harness.spawn(listeners)),
      post: () => {
        throw new DOMException("could not be cloned", "DataCloneError");
      },
    });
    const error = await powRejection(searchInWorkers(searchFor(v20, refusingAll)));
    expect(error.code).toBe("POW_WORKER_FAILED");
  });

  test("a worker that cannot instantiate the kernel fails the search with POW_WORKER_FAILED", async () => {
    const garbage = new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]);
    for (const spawn of [inProcessSpawner().spawn, webWorkerSpawner({ Worker, Blob, URL })]) {
      const error = await powRejection(searchInWorkers(searchFor(v20, spawn, { bytes: garbage })));
      expect(error.code).toBe("POW_WORKER_FAILED");
    }
  });

  test("a worker that crashes, or cannot be started, fails the search with POW_WORKER_FAILED", async () => {
    const web = webWorkerSpawner({ Worker, Blob: crashingBlob, URL });
    expect((await powRejection(searchInWorkers(searchFor(v20, web)))).code).toBe("POW_WORKER_FAILED");
    const node = nodeWorkerSpawner(async () => ({
      Worker: class extends NodeWorker {
        constructor(_source: string, options: { eval: true }) {
          super("throw new Error('worker crashed at start')", options);
        }
      },
    }));
    expect((await powRejection(searchInWorkers(searchFor(v20, node)))).code).toBe("POW_WORKER_FAILED");
    const unavailable: SpawnWorker = () => Promise.reject(new Error("worker-src 'none'"));
    const error = await powRejection(searchInWorkers(searchFor(v20, unavailable)));
    expect(error.code).toBe("POW_WORKER_FAILED");
    expect(error.message).toContain("worker-src 'none'");
  });

  test("workers run the same kernel helpers as the main thread, from source text alone", () => {
    for (const flavor of ["web", "node"] as const) {
      const script = workerScript(flavor);
      expect(script).toContain("function loadChallenge(");
      expect(script).toContain("function runKernelBatch(");
      expect(script).not.toContain("import ");
    }
    expect(workerScript("node")).toContain('require("node:worker_threads")');
    expect(workerScript("web")).toContain("self.postMessage");
  });

  test(
    "picks Web Workers where they exist, worker threads in Node, nothing elsewhere",
    async () => {
      expect(defaultSpawner({})).toBeUndefined();
      expect(defaultSpawner({ Worker, Blob })).toBeUndefined();
      const asNode20 = defaultSpawner({ process: { versions: { node: "20.0.0" } } })!;
      expect((await searchInWorkers(searchFor(v20, asNode20))).nonce).toBe(v20.nonce);
      const asBrowser = defaultSpawner({ Worker, Blob, URL })!;
      expect((await searchInWorkers(searchFor(v20, asBrowser))).nonce).toBe(v20.nonce);
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

describe("a kept WorkerPool", () => {
  const v12 = vectors.find((x) => x.difficulty === 12)!;
  const poolSearch = (v: PowVector, overrides: Partial<WorkerSearch> = {}) =>
    searchFor(v, inProcessSpawner().spawn, overrides);

  /** In-process workers whose handles record keepAlive calls and can refuse chosen messages. */
  function recordingSpawner(refuse: (request: WorkerRequest, posted: number) => boolean = () => false) {
    const harness = inProcessSpawner();
    const alive: boolean[][] = [];
    let posted = 0;
    const spawn: SpawnWorker = async (listeners) => {
      const handle = await harness.spawn(listeners);
      const calls: boolean[] = [];
      alive.push(calls);
      return {
        post: (request) => {
          posted += 1;
          if (refuse(request, posted)) throw new DOMException("could not be cloned", "DataCloneError");
          handle.post(request);
        },
        terminate: handle.terminate,
        keepAlive: (on) => calls.push(on),
      } satisfies WorkerHandle;
    };
    return { spawn, alive, spawned: harness.spawned };
  }

  test("a worker that comes up after its search is over waits idle, and joins the next search", async () => {
    const recording = recordingSpawner();
    let releaseSecond = () => {};
    const secondMayStart = new Promise<void>((resolve) => {
      releaseSecond = resolve;
    });
    const spawn: SpawnWorker = async (listeners) => {
      if (recording.spawned() === 1) await secondMayStart;
      return recording.spawn(listeners);
    };
    const pool = new WorkerPool({ ...poolSearch(v12), spawn, workers: 2 });
    try {
      expect((await pool.search(poolSearch(v12))).nonce).toBe(v12.nonce);
      releaseSecond();
      while (recording.spawned() < 2) await Bun.sleep(1);
      // Idle: neither worker may hold the process open.
      expect(recording.alive.map((calls) => calls.at(-1))).toEqual([false, false]);
      expect(recording.alive[1]).toEqual([false]);
      expect((await pool.search(poolSearch(v12))).nonce).toBe(v12.nonce);
      expect(recording.alive[1]).toEqual([false, true, false]);
    } finally {
      pool.close();
    }
  });

  test("a message that cannot be posted, at a search's start or in the middle, fails it with POW_WORKER_FAILED", async () => {
    // The second search's first message to a worker already up.
    let hunts = 0;
    const atStart = recordingSpawner((request) => request.type === "hunt" && ++hunts === 3);
    const pool = new WorkerPool({ ...poolSearch(v12), spawn: atStart.spawn, workers: 2 });
    try {
      expect((await pool.search(poolSearch(v12))).nonce).toBe(v12.nonce);
      expect((await powRejection(pool.search(poolSearch(v12)))).code).toBe("POW_WORKER_FAILED");
      // The failed workers are gone; the next search starts new ones.
      expect((await pool.search(poolSearch(v12))).nonce).toBe(v12.nonce);
      expect(atStart.spawned()).toBe(4);
    } finally {
      pool.close();
    }
    // One message per batch: a batch handed out after a reply.
    let batches = 0;
    const midway = recordingSpawner((request) => request.type === "batch" && ++batches === 6);
    const error = await powRejection(
      searchInWorkers({ ...poolSearch(v20, { batchPrefixes: 4, sharedMemory: false }), spawn: midway.spawn }),
    );
    expect(error.code).toBe("POW_WORKER_FAILED");
  });

  test("an onProgress that throws rejects the search with its error, hunting or by batches", async () => {
    const boom = new Error("progress sink closed");
    for (const sharedMemory of [true, false]) {
      const search = poolSearch(v12, {
        sharedMemory,
        onProgress: () => {
          throw boom;
        },
      });
      await expect(searchInWorkers(search)).rejects.toBe(boom);
    }
  });
});
