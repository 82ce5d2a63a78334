import { describe, expect, spyOn, test } from "bun:test";
import { PowError } from "../../../core/errors.ts";
import {
  compileKernel,
  defaultRuntime,
  detectBackend,
  type PowRuntime,
  type WasmApi,
} from "../../../core/pow/backend.ts";
import { defaultEnvironment, type SolveEnvironment, solveIn } from "../../../core/pow/solver.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { type PowVector, seededChallenge } from "./reference.ts";
import vectorFile from "./vectors.json";
import { inProcessSpawner } from "./worker-harness.ts";

const vectors: PowVector[] = vectorFile.vectors;
const v16 = vectors.find((x) => x.difficulty === 16)!;

function runtimeWith(wasm: WasmApi | undefined): PowRuntime & { warnings: string[] } {
  const warnings: string[] = [];
  return { wasm, now: () => performance.now(), warn: (message) => warnings.push(message), warnings };
}

const env = (runtime: PowRuntime, overrides: Partial<SolveEnvironment> = {}): SolveEnvironment => ({
  ...defaultEnvironment(),
  runtime,
  ...overrides,
});

/** The real WebAssembly namespace with one behaviour changed, as a restrictive runtime would have it. */
type Bytes = Uint8Array<ArrayBuffer>;
const realWasm: WasmApi = {
  compile: (bytes) => WebAssembly.compile(bytes as Bytes),
  instantiate: ((module: WebAssembly.Module) => WebAssembly.instantiate(module)) as WasmApi["instantiate"],
  validate: (bytes) => WebAssembly.validate(bytes as Bytes),
};
const refusing = (when: (bytes: Bytes) => boolean): WasmApi => ({
  ...realWasm,
  compile: (bytes) =>
    when(bytes as Bytes)
      ? Promise.reject(new WebAssembly.CompileError("refused by policy"))
      : WebAssembly.compile(bytes as Bytes),
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PowError) return error.code;
    throw error;
  }
  return "resolved";
}

describe("backend selection", () => {
  test("the default runtime uses this global WebAssembly and reports fallbacks on console.warn", () => {
    expect(defaultRuntime.wasm).toBe(WebAssembly);
    const warn = spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      defaultRuntime.warn("lime pow: test message");
      expect(warn).toHaveBeenCalledWith("lime pow: test message");
    } finally {
      warn.mockRestore();
    }
  });

  test("no WebAssembly: the pure-JS fallback, the reason logged once, same answers", async () => {
    const runtime = runtimeWith(undefined);
    expect(await detectBackend(runtime)).toBe("js");
    expect(await detectBackend(runtime)).toBe("js");
    const solution = await solveIn(env(runtime), v16.challenge, v16.difficulty);
    expect(solution.nonce).toBe(v16.nonce);
    expect(runtime.warnings).toHaveLength(1);
    expect(runtime.warnings[0]).toContain("WebAssembly is not available");
  });

  test("SIMD probe fails validation: the scalar kernel, silently", async () => {
    const runtime = runtimeWith({ ...realWasm, validate: () => false });
    expect(await detectBackend(runtime)).toBe("wasm-scalar");
    expect((await solveIn(env(runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
    expect(runtime.warnings).toEqual([]);
  });

  test("SIMD kernel refused at compile time: the scalar kernel, with the reason", async () => {
    const simdSize = (await import("../../../core/pow/kernel/modules.ts")).kernelBytes(
      "wasm-simd",
    ).byteLength;
    const runtime = runtimeWith(refusing((bytes) => bytes.byteLength === simdSize));
    expect(await detectBackend(runtime)).toBe("wasm-scalar");
    expect(runtime.warnings).toHaveLength(1);
    expect(runtime.warnings[0]).toContain("refused by policy");
  });

  test("every compilation refused (CSP without wasm-unsafe-eval): the pure-JS fallback, with the reason", async () => {
    const runtime = runtimeWith(refusing(() => true));
    expect(await detectBackend(runtime)).toBe("js");
    expect(runtime.warnings.at(-1)).toContain("pure-JS fallback");
    expect((await solveIn(env(runtime), v16.challenge, v16.difficulty)).nonce).toBe(v16.nonce);
  });

  test("a forced WASM backend that cannot load rejects with POW_WASM_UNAVAILABLE", async () => {
    expect(
      await codeOf(solveIn(env(runtimeWith(undefined)), v16.challenge, 1, { backend: "wasm-simd" })),
    ).toBe("POW_WASM_UNAVAILABLE");
    const refused = runtimeWith(refusing(() => true));
    expect(await codeOf(solveIn(env(refused), v16.challenge, 1, { backend: "wasm-scalar" }))).toBe(
      "POW_WASM_UNAVAILABLE",
    );
    expect(
      await codeOf(solveIn(env(refused), v16.challenge, 1, { backend: "wasm-scalar", workers: 2 })),
    ).toBe("POW_WASM_UNAVAILABLE");
    expect(await codeOf(compileKernel(runtimeWith(undefined), "wasm-scalar"))).toBe("POW_WASM_UNAVAILABLE");
  });

  test("compiles each kernel once per runtime", async () => {
    let compiles = 0;
    const runtime = runtimeWith({
      ...realWasm,
      compile: (bytes) => {
        compiles++;
        return WebAssembly.compile(bytes as Bytes);
      },
    });
    await Promise.all([compileKernel(runtime, "wasm-simd"), compileKernel(runtime, "wasm-simd")]);
    await solveIn(env(runtime), v16.challenge, 8);
    await solveIn(env(runtime), v16.challenge, 8, { backend: "wasm-simd" });
    await solveIn(env(runtime), v16.challenge, 8, { backend: "wasm-scalar" });
    // Two kernels, each compiled once: the calibration needs both, the solves reuse them.
    expect(compiles).toBe(2);
  });
});

describe("worker count", () => {
  test(
    "defaults to one thread below difficulty 22 and to the core count (max 8) from 22",
    async () => {
      const runtime = runtimeWith(realWasm);
      const v22 = vectors.find((x) => x.difficulty === 22)!;
      for (const [difficulty, cores, expected] of [
        [21, 4, 0],
        [22, 2, 2],
        [22, 16, 8],
        [22, undefined, 0],
      ] as const) {
        const harness = inProcessSpawner();
        const solution = await solveIn(
          env(runtime, { spawn: harness.spawn, hardwareConcurrency: cores }),
          v22.challenge,
          difficulty,
        );
        expect(harness.spawned()).toBe(expected);
        if (difficulty === 22) expect(solution.nonce).toBe(v22.nonce);
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("asked for workers where there are none: one thread, logged", async () => {
    const runtime = runtimeWith(realWasm);
    const solution = await solveIn(env(runtime, { spawn: undefined }), v16.challenge, v16.difficulty, {
      workers: 4,
    });
    expect(solution.nonce).toBe(v16.nonce);
    expect(runtime.warnings).toEqual(["lime pow: this runtime has no workers; solving on one thread"]);
  });

  test("the JS fallback ignores workers and still answers", async () => {
    const harness = inProcessSpawner();
    const solution = await solveIn(env(runtimeWith(realWasm), { spawn: harness.spawn }), v16.challenge, 16, {
      backend: "js",
      workers: 2,
    });
    expect(solution.nonce).toBe(v16.nonce);
    expect(harness.spawned()).toBe(0);
  });

  test(
    "in-process workers (the worker code itself) find every vector",
    async () => {
      const harness = inProcessSpawner();
      for (const v of vectors) {
        const solution = await solveIn(
          env(runtimeWith(realWasm), { spawn: harness.spawn }),
          v.challenge,
          v.difficulty,
          {
            workers: 3,
          },
        );
        expect(solution.nonce).toBe(v.nonce);
      }
      expect(harness.terminated()).toBe(harness.spawned());
      expect(seededChallenge("x", 1)).toHaveLength(64);
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
