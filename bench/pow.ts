/**
 * Proof-of-work: the backend the solver's calibration picks in this runtime;
 * hashes per second of the WASM solver (SIMD in each of its steps: one last
 * digit, two, one with rotates half multiplied; scalar; one thread; then one
 * and two worker threads)
 * against Cap's WASM solver (`@cap.js/wasm`) solving its own puzzles,
 * `node:crypto` and `hash-wasm` doing the same sequential search one hash call
 * per nonce, on the same challenges, in this process, and against native
 * SHA-256 without SHA-NI (`openssl speed`, one core, same rounds); then the
 * time `solve` takes at difficulty 15 (300 seeded challenges: mean, p50, p99)
 * and 20.
 *
 * The single-thread rates are measured in interleaved rounds and each keeps
 * its best round (bench/lib/rounds.ts), so the ratios compare the code, not
 * what a neighbour on this shared machine did meanwhile. They are hashes per
 * second of CPU time (`process.cpuUsage`), the unit `openssl speed` reports
 * by default: a process waiting for a busy core then slows neither side.
 *
 * Gates in CI's short mode (ratios, set with margin for a busy machine): the
 * fastest kernel >= 0.8x native no-SHA-NI in V8 (0.6x in Bun), >= 2.5x Cap's
 * solver and >= 5x hash-wasm, and the calibrated choice within 15% of the
 * fastest kernel. Full run only: issue 13's targets (1.4x native in V8, 0.8x
 * in Bun; 2 workers >= 1.8x one worker, which measures a free second core as
 * much as the code; difficulty 15: mean <= 3 ms, p99 <= 12 ms).
 *
 * Standalone: `./node_modules/.bin/bun bench/pow.ts [--short] [--json]`; in Node:
 * `bun build bench/pow.ts --target=node --outfile bench/out/pow-node.mjs && node bench/out/pow-node.mjs --json`.
 */
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { createSolver, solve } from "@lime-ts/core/pow";
import { createSHA256 } from "hash-wasm";
import {
  calibrationOf,
  compileKernel,
  defaultRuntime,
  simdStepIn,
  solverBackend,
} from "../core/pow/backend.ts";
import { difficultyMasks } from "../core/pow/form.ts";
import { createJsSearcher } from "../core/pow/js-search.ts";
import { KERNEL_LAYOUT, type KernelExports, type SimdStep } from "../core/pow/kernel/abi.ts";
import { type KernelKind, kernelBytes } from "../core/pow/kernel/modules.ts";
import { loadChallenge, runKernelBatch, setSimdStep } from "../core/pow/kernel/runner.ts";
import { defaultEnvironment } from "../core/pow/solver.ts";
import { searchInWorkers } from "../core/pow/workers.ts";
import { loadCapSolver } from "./lib/cap-solver.ts";
import { nativeSha256BlocksPerSecond } from "./lib/native-sha256.ts";
import { bestRate, interleavedRounds } from "./lib/rounds.ts";
import { formatSection } from "./lib/table.ts";
import type { BenchGate, BenchOptions, BenchRow, BenchSection } from "./lib/types.ts";

const isBun = typeof Bun !== "undefined";
const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
const runtime = isBun ? `bun ${Bun.version}` : deno ? `deno ${deno.version.deno}` : `node ${process.version}`;

/** Reproducible challenges: sha256("lime-bench-pow-<i>"). */
const challenge = (i: number): string => createHash("sha256").update(`lime-bench-pow-${i}`).digest("hex");

/** Nonces from 1,000,000 (prefix 100000): the 7-digit range a difficulty-20 search lives in. */
const START_PREFIX = 100_000;
/** No digest has 40 leading zero bits in these ranges (2^-40 each), so every search runs its full length. */
const [NEVER0, NEVER1] = difficultyMasks(40);

const now = () => performance.now();

/** Milliseconds of this process's CPU time (wall time where the runtime has no `process.cpuUsage`). */
const cpuNow =
  typeof process !== "undefined" && typeof process.cpuUsage === "function"
    ? () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1000;
      }
    : now;

/** How the bench names each SIMD step. */
const STEP_LABELS: Record<SimdStep, string> = {
  single: "1 digit/step",
  paired: "2 digits/step",
  multiply: "1 digit/step, mul",
};

/** How long `solve` runs before its times are taken. */
const SOLVE_WARMUP_MS = 1000;

/** How long a kernel runs before it is measured. */
const KERNEL_WARMUP_MS = 600;

/**
 * A measurement of the `kind` kernel's hashes/s over about `hashes` hashes,
 * after a warm-up; `step` is the SIMD kernel's step (`SimdStep`).
 */
async function kernelRate(
  kind: KernelKind,
  hashes: number,
  step: SimdStep = "single",
): Promise<() => number> {
  const module = await compileKernel(defaultRuntime, kind);
  const instance = await WebAssembly.instantiate(module);
  const kernel = instance.exports as unknown as KernelExports;
  setSimdStep(kernel, KERNEL_LAYOUT, step);
  const prefixes = Math.ceil(hashes / 10 / 4 / 256) * 256;
  loadChallenge(kernel, KERNEL_LAYOUT, challenge(0));
  // Every engine starts a module in a baseline tier and optimizes it on a
  // background thread, which a busy machine delays (JSC took up to half a
  // second of kernel time with one core busy): warm up for a while, not a batch.
  const warmUntil = now() + KERNEL_WARMUP_MS;
  while (now() < warmUntil) {
    runKernelBatch(kernel, KERNEL_LAYOUT, String(START_PREFIX), prefixes / 4, NEVER0, NEVER1);
  }
  return () => {
    let done = 0;
    const started = cpuNow();
    for (let i = 0; i < 4; i++) {
      loadChallenge(kernel, KERNEL_LAYOUT, challenge(i));
      done += runKernelBatch(kernel, KERNEL_LAYOUT, String(START_PREFIX), prefixes, NEVER0, NEVER1).hashes;
    }
    return done / ((cpuNow() - started) / 1000);
  };
}

/**
 * Cap's solver on its own puzzles: our challenges as its salt, target "0000"
 * (16 zero bits, ~65k nonces each), as many as reach `nonces` per round;
 * `nonce + 1` is what it hashed. NaN where its glue does not load.
 */
function capRate(nonces: number): { measure: () => number; error?: string } {
  const cap = loadCapSolver();
  if ("error" in cap) return { measure: () => Number.NaN, error: cap.error };
  for (let i = 0; i < 4; i++) cap.solve(challenge(400 + i), "000");
  let next = 0;
  return {
    measure: () => {
      let done = 0;
      const started = cpuNow();
      while (done < nonces) done += Number(cap.solve(challenge(500 + next++), "0000")) + 1;
      return done / ((cpuNow() - started) / 1000);
    },
  };
}

/** A measurement of the pure-JS searcher's hashes/s over `hashes` hashes, after one warm-up. */
function jsRate(hashes: number): () => number {
  const searcher = createJsSearcher(challenge(0), NEVER0, NEVER1);
  searcher.search(String(START_PREFIX), 2_000);
  return () => {
    const started = cpuNow();
    const { hashes: done } = searcher.search(String(START_PREFIX), hashes / 10);
    return done / ((cpuNow() - started) / 1000);
  };
}

/**
 * hashes/s of `solve`'s worker split, a fixed range searched to exhaustion (no
 * hit at difficulty 40): per wall second (what a free second core gives) and
 * per CPU second of the whole process, workers included (what the split
 * itself costs: start-up, messaging, idle ends), which a busy machine does not move.
 */
async function workerRate(
  kind: KernelKind,
  workers: number,
  hashes: number,
): Promise<{ wall: number; cpu: number }> {
  const spawn = defaultEnvironment().spawn;
  if (!spawn) return { wall: Number.NaN, cpu: Number.NaN };
  // What solve sends its workers: the compiled module (its bytes as the fallback).
  const module = await compileKernel(defaultRuntime, kind);
  const prefixes = Math.ceil(hashes / 10 / 4096) * 4096;
  const search = (c: string, count: number) =>
    searchInWorkers({
      challenge: c,
      mask0: NEVER0,
      mask1: NEVER1,
      bytes: kernelBytes(kind),
      module,
      simdStep: simdStepIn(defaultRuntime),
      workers,
      batchPrefixes: 4096,
      startPrefix: BigInt(START_PREFIX),
      lastPrefix: BigInt(START_PREFIX + count - 1),
      spawn,
    }).catch((error: { code?: string }) => {
      if (error.code !== "POW_EXHAUSTED") throw error;
    });
  await search(challenge(9), 4096 * 4 * workers);
  const started = now();
  const cpuStarted = cpuNow();
  await search(challenge(1), prefixes);
  return {
    wall: (prefixes * 10) / ((now() - started) / 1000),
    cpu: (prefixes * 10) / ((cpuNow() - cpuStarted) / 1000),
  };
}

function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

/**
 * A measurement of the same search done with one library hash call per
 * nonce (what a solver without a kernel does) over `hashes` hashes, after a warm-up.
 */
function perCallRate(hashOnce: (message: string) => Uint8Array, hashes: number): () => number {
  const c = challenge(0);
  for (let n = 0; n < 20_000; n++) leadingZeroBits(hashOnce(c + (1_000_000 + n)));
  return () => {
    let found = 0;
    const started = cpuNow();
    for (let i = 0; i < 4; i++) {
      const ci = challenge(i);
      for (let n = 1_000_000; n < 1_000_000 + hashes / 4; n++) {
        if (leadingZeroBits(hashOnce(ci + n)) >= 40) found++;
      }
    }
    if (found > 0) throw new Error("a 40-bit hit in a bench range: pick other challenges");
    return hashes / ((cpuNow() - started) / 1000);
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

interface SolveTimes {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  /** Hashes per second of process CPU time over all the solves (every thread's). */
  perCpuSecond: number;
}

type Solve = (challenge: string, difficulty: number) => Promise<{ hashes: number }>;

async function solveTimes(solveOne: Solve, difficulty: number, count: number): Promise<SolveTimes> {
  // Steady state: engines optimize the kernel after its first few hundred
  // thousand hashes, and JavaScriptCore again for workers (their optimizing
  // compiles ran over the first second of solves here), so warm up for a
  // while, not a few solves.
  const warmUntil = now() + SOLVE_WARMUP_MS;
  for (let i = 0; i < 5 || now() < warmUntil; i++) await solveOne(challenge(100 + (i % 500)), 15);
  const times: number[] = [];
  let hashes = 0;
  const cpuStarted = cpuNow();
  for (let i = 0; i < count; i++) {
    const c = challenge(1000 * difficulty + i);
    const started = now();
    hashes += (await solveOne(c, difficulty)).hashes;
    times.push(now() - started);
  }
  const cpuSeconds = (cpuNow() - cpuStarted) / 1000;
  times.sort((a, b) => a - b);
  return {
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    p50: percentile(times, 0.5),
    p95: percentile(times, 0.95),
    p99: percentile(times, 0.99),
    perCpuSecond: hashes / cpuSeconds,
  };
}

/** Issue 13's full-run target, fastest kernel / native no-SHA-NI: V8 (Node, Deno) 1.4x, JavaScriptCore (Bun) 0.8x. */
const NATIVE_TARGET = isBun ? 0.8 : 1.4;
/** The short mode's floor for the same ratio: loose enough for a busy machine, tight enough to catch a slower kernel. */
const NATIVE_FLOOR = isBun ? 0.6 : 0.8;

export async function runPowBench(opts: BenchOptions): Promise<BenchSection> {
  // Per round; each single-thread subject is measured once per round.
  const rounds = opts.short ? 5 : 8;
  const kernelHashes = opts.short ? 750_000 : 2_000_000;
  const baselineHashes = opts.short ? 40_000 : 100_000;
  const capNonces = opts.short ? 250_000 : 600_000;
  // Short runs only report the worker rates (info), so they measure less.
  const workerHashes = opts.short ? 4_000_000 : 64_000_000;
  const d15Count = opts.short ? 120 : 300;

  // First use in this process: the calibration runs here.
  const calibrationStarted = now();
  const backend = await solverBackend();
  const calibrationMs = now() - calibrationStarted;
  const calibration = calibrationOf(defaultRuntime);
  const step = simdStepIn(defaultRuntime);
  const workerKind: KernelKind = backend === "js" ? "wasm-scalar" : backend;

  // The solves and the workers first, in a process that has only calibrated,
  // as an agent's has. JavaScriptCore backs eight WebAssembly memories per
  // process with guard pages; the ninth gets bounds checks and a kernel that
  // ran 17% slower in a worker (5.2 against 6.3 M hashes per CPU second), and
  // the single-thread rates below hold eight (kernels, Cap, hash-wasm).
  const d15 = await solveTimes(solve, 15, d15Count);
  const d20 = await solveTimes(solve, 20, opts.short ? 6 : 30);
  // The worker rates once the one-thread solves have warmed the kernel up
  // (measured right after the calibration, Bun's two workers read 1.77x one
  // while it compiled), and before the kept pool's solves (after them, Node's
  // read 1.71-1.89x; before, 1.97-1.98x). Interleaved, one worker then two,
  // and the ratio taken between the best of each.
  const workerRounds = await interleavedRounds(3, {
    one: () => workerRate(workerKind, 1, workerHashes / 6),
    two: () => workerRate(workerKind, 2, workerHashes / 3),
  });
  const oneWorker = bestRate(workerRounds.one.map((r) => r.wall));
  const twoWorkers = bestRate(workerRounds.two.map((r) => r.wall));
  const oneWorkerCpu = bestRate(workerRounds.one.map((r) => r.cpu));
  const twoWorkersCpu = bestRate(workerRounds.two.map((r) => r.cpu));

  // The same challenges on workers kept across solves (createSolver): two at most,
  // so the figure is the same on a bigger machine.
  const keptWorkers = Math.min(2, defaultEnvironment().hardwareConcurrency ?? 1);
  const solver = createSolver({ workers: keptWorkers });
  const d15Kept = await solveTimes((c, d) => solver.solve(c, d), 15, d15Count);
  const d20Kept = await solveTimes((c, d) => solver.solve(c, d), 20, opts.short ? 6 : 30);
  solver.close();

  const hasher = await createSHA256();
  const cap = capRate(capNonces);
  const rates = await interleavedRounds(rounds, {
    native: () => nativeSha256BlocksPerSecond(1),
    simd: await kernelRate("wasm-simd", kernelHashes),
    simdPaired: await kernelRate("wasm-simd", kernelHashes, "paired"),
    simdMultiply: await kernelRate("wasm-simd", kernelHashes, "multiply"),
    scalar: await kernelRate("wasm-scalar", kernelHashes / 2),
    cap: cap.measure,
    js: jsRate(baselineHashes),
    nodeCrypto: perCallRate((m) => createHash("sha256").update(m).digest(), baselineHashes),
    hashWasm: perCallRate((m) => {
      hasher.init();
      hasher.update(m);
      return hasher.digest("binary");
    }, baselineHashes),
  });
  const best = Object.fromEntries(
    Object.entries(rates).map(([name, r]) => [name, bestRate(r as number[])]),
  ) as Record<keyof typeof rates, number>;
  const { native, simd, simdPaired, simdMultiply, scalar, js, nodeCrypto, hashWasm } = best;
  const capSolver = best.cap;
  const fastest = Math.max(simd, simdPaired, simdMultiply, scalar);
  const simdRates: Record<SimdStep, number> = { single: simd, paired: simdPaired, multiply: simdMultiply };
  const chosenRate = backend === "wasm-simd" ? simdRates[step] : backend === "wasm-scalar" ? scalar : js;

  const calibrationNote = [
    ...Object.entries(calibration?.rates ?? {}).map(
      ([kind, perMs]) => `${kind} ${((perMs as number) / 1000).toFixed(1)} M/s`,
    ),
    ...Object.entries(calibration?.stepRates ?? {})
      .filter(([timed]) => timed !== step)
      .map(([timed, perMs]) => `simd ${timed} ${((perMs as number) / 1000).toFixed(1)} M/s`),
  ].join(", ");
  const choice = `${backend}${backend === "wasm-simd" ? `, ${STEP_LABELS[step]}` : ""}`;
  const rows: BenchRow[] = [
    {
      label: `backend chosen: ${choice}`,
      value: calibrationMs,
      unit: "ms",
      note: `calibration on first use${calibrationNote ? `: ${calibrationNote}` : ""}`,
    },
    {
      label: "native SHA-256, no SHA-NI",
      value: native,
      unit: "block/s",
      note: "openssl speed -evp sha256, 1 core, 16 KiB buffers, CPU time",
    },
    {
      label: `wasm-simd, ${STEP_LABELS.single}`,
      value: simd,
      unit: "hash/s",
      note: `best of ${rounds} interleaved rounds, per CPU second`,
    },
    {
      label: `wasm-simd, ${STEP_LABELS.paired}`,
      value: simdPaired,
      unit: "hash/s",
      note: "two compressions in flight",
    },
    {
      label: `wasm-simd, ${STEP_LABELS.multiply}`,
      value: simdMultiply,
      unit: "hash/s",
      note: "left half of each rotate a multiplication",
    },
    { label: "wasm-scalar, 1 thread", value: scalar, unit: "hash/s" },
    { label: "pure-JS fallback, 1 thread", value: js, unit: "hash/s" },
    {
      label: "Cap @cap.js/wasm",
      value: capSolver,
      unit: "hash/s",
      note: cap.error ? `did not load: ${cap.error}` : "solve_pow on its own 16-bit puzzles, nonces/s",
    },
    {
      label: "node:crypto per nonce",
      value: nodeCrypto,
      unit: "hash/s",
      note: "createHash().update().digest()",
    },
    { label: "hash-wasm per nonce", value: hashWasm, unit: "hash/s", note: "createSHA256() reused" },
    {
      label: `${workerKind}, 1 worker`,
      value: oneWorker,
      unit: "hash/s",
      note: "solve's worker path, incl. start-up, wall time",
    },
    {
      label: `${workerKind}, 2 workers`,
      value: twoWorkers,
      unit: "hash/s",
      note: "needs a free second core",
    },
    { label: "fastest kernel / native no SHA-NI", value: fastest / native, unit: "x" },
    { label: `simd ${STEP_LABELS.single} / native`, value: simd / native, unit: "x" },
    { label: `simd ${STEP_LABELS.paired} / native`, value: simdPaired / native, unit: "x" },
    { label: `simd ${STEP_LABELS.multiply} / native`, value: simdMultiply / native, unit: "x" },
    { label: "scalar / native no SHA-NI", value: scalar / native, unit: "x" },
    { label: "fastest kernel / Cap", value: fastest / capSolver, unit: "x" },
    { label: "fastest kernel / hash-wasm", value: fastest / hashWasm, unit: "x" },
    { label: "fastest kernel / node:crypto", value: fastest / nodeCrypto, unit: "x" },
    { label: "chosen / fastest kernel", value: chosenRate / fastest, unit: "x" },
    { label: "2 workers / 1 worker", value: twoWorkers / oneWorker, unit: "x", note: "wall time" },
    {
      label: "1 worker, per CPU second / kernel",
      value: oneWorkerCpu / chosenRate,
      unit: "x",
      note: "the split's own cost, whatever the free cores",
    },
    { label: "2 workers, per CPU second / kernel", value: twoWorkersCpu / chosenRate, unit: "x" },
    {
      label: "solve d15 mean, 1 thread",
      value: d15.mean,
      unit: "ms",
      note: `${d15Count} challenges; LIME's Python solver: ~40 ms median`,
    },
    { label: "solve d15 p50, 1 thread", value: d15.p50, unit: "ms" },
    { label: "solve d15 p99, 1 thread", value: d15.p99, unit: "ms" },
    { label: "solve d20 mean, 1 thread", value: d20.mean, unit: "ms" },
    { label: "solve d20 p95, 1 thread", value: d20.p95, unit: "ms" },
    {
      label: `solve d15 mean, ${keptWorkers} kept workers`,
      value: d15Kept.mean,
      unit: "ms",
      note: "createSolver: the same challenges, workers started once",
    },
    { label: `solve d15 p50, ${keptWorkers} kept workers`, value: d15Kept.p50, unit: "ms" },
    { label: `solve d15 p99, ${keptWorkers} kept workers`, value: d15Kept.p99, unit: "ms" },
    { label: `solve d20 mean, ${keptWorkers} kept workers`, value: d20Kept.mean, unit: "ms" },
    { label: `solve d20 p95, ${keptWorkers} kept workers`, value: d20Kept.p95, unit: "ms" },
    {
      label: "kept workers d15, per CPU second / 1 thread",
      value: d15Kept.perCpuSecond / d15.perCpuSecond,
      unit: "x",
      note: "what splitting an easy search costs, whatever the free cores",
    },
  ];
  const gates: BenchGate[] = [
    {
      name: `fastest kernel >= ${NATIVE_FLOOR}x native no SHA-NI`,
      actual: fastest / native,
      min: NATIVE_FLOOR,
      unit: "x",
      inShortMode: true,
    },
    {
      name: "fastest kernel >= 2.5x Cap's solver",
      actual: fastest / capSolver,
      min: 2.5,
      unit: "x",
      inShortMode: true,
    },
    {
      name: "fastest kernel >= 5x hash-wasm",
      actual: fastest / hashWasm,
      min: 5,
      unit: "x",
      inShortMode: true,
    },
    {
      name: "calibrated choice >= 0.85x the fastest kernel",
      actual: chosenRate / fastest,
      min: 0.85,
      unit: "x",
      inShortMode: true,
    },
    // Issue 13's targets, full run only.
    {
      name: `fastest kernel >= ${NATIVE_TARGET}x native no SHA-NI`,
      actual: fastest / native,
      min: NATIVE_TARGET,
      unit: "x",
      inShortMode: false,
    },
    {
      name: "2 workers >= 1.8x 1 worker",
      actual: twoWorkers / oneWorker,
      min: 1.8,
      unit: "x",
      inShortMode: false,
    },
    {
      name: "kept workers d15, per CPU second >= 0.7x 1 thread",
      actual: d15Kept.perCpuSecond / d15.perCpuSecond,
      min: 0.7,
      unit: "x",
      inShortMode: true,
    },
    {
      name: "solve d15 mean <= 3 ms (kept workers)",
      actual: d15Kept.mean,
      max: 3,
      unit: "ms",
      inShortMode: false,
    },
    {
      name: "solve d15 p99 <= 12 ms (kept workers)",
      actual: d15Kept.p99,
      max: 12,
      unit: "ms",
      inShortMode: false,
    },
  ];
  return { name: "pow", runtime, rows, gates };
}

const isMain = isBun ? import.meta.main : import.meta.url === pathToFileURL(process.argv[1] ?? "").href;
if (isMain) {
  const args = new Set(process.argv.slice(2));
  const section = await runPowBench({ short: args.has("--short") });
  if (args.has("--json")) console.log(JSON.stringify(section));
  else console.log(formatSection(section, (gate) => gate.inShortMode || !args.has("--short")));
}
