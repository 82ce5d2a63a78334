/**
 * Proof-of-work: the backend the solver's calibration picks in this runtime;
 * hashes per second of the WASM solver (SIMD and scalar, one thread; then one
 * and two worker threads) against `node:crypto` and `hash-wasm` doing the
 * same sequential search one hash call per nonce, on the same challenges, in
 * this process, and against native SHA-256 without SHA-NI (`openssl speed`,
 * one core, same run); then the time `solve` takes at difficulty 15
 * (300 seeded challenges: mean, p50, p99) and 20. Cap's WASM solver
 * (`@cap.js/wasm`) is not a dependency here, so it is not measured.
 *
 * The single-thread rates are measured in interleaved rounds and each keeps
 * its best round (bench/lib/rounds.ts), so the ratios compare the code, not
 * what a neighbour on this shared machine did meanwhile.
 *
 * Gates: WASM single-thread >= 5x hash-wasm and the calibrated backend within
 * 15% of the faster kernel (ratios, checked in CI's short mode); 2 workers
 * >= 1.8x one worker, full run only: it measures a free
 * second core as much as the code, and CI's short run shares the machine
 * (reported there as info); absolute targets (>= 10 M/s per core on Node,
 * >= 6 M/s on Bun, difficulty 15 under 5 ms on average) in a full run only.
 *
 * Standalone: `./node_modules/.bin/bun bench/pow.ts [--short] [--json]`; in Node:
 * `bun build bench/pow.ts --target=node --outfile bench/out/pow-node.mjs && node bench/out/pow-node.mjs --json`.
 */
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { solve } from "@lime-ts/core/pow";
import { createSHA256 } from "hash-wasm";
import { calibrationOf, compileKernel, defaultRuntime, solverBackend } from "../core/pow/backend.ts";
import { difficultyMasks } from "../core/pow/form.ts";
import { createJsSearcher } from "../core/pow/js-search.ts";
import { KERNEL_LAYOUT, type KernelExports } from "../core/pow/kernel/abi.ts";
import { type KernelKind, kernelBytes } from "../core/pow/kernel/modules.ts";
import { loadChallenge, runKernelBatch } from "../core/pow/kernel/runner.ts";
import { defaultEnvironment } from "../core/pow/solver.ts";
import { searchInWorkers } from "../core/pow/workers.ts";
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

/** How long a kernel runs before it is measured. */
const KERNEL_WARMUP_MS = 600;

/** A measurement of the `kind` kernel's hashes/s over about `hashes` hashes, after a warm-up. */
async function kernelRate(kind: KernelKind, hashes: number): Promise<() => number> {
  const module = await compileKernel(defaultRuntime, kind);
  const instance = await WebAssembly.instantiate(module);
  const kernel = instance.exports as unknown as KernelExports;
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
    const started = now();
    for (let i = 0; i < 4; i++) {
      loadChallenge(kernel, KERNEL_LAYOUT, challenge(i));
      done += runKernelBatch(kernel, KERNEL_LAYOUT, String(START_PREFIX), prefixes, NEVER0, NEVER1).hashes;
    }
    return done / ((now() - started) / 1000);
  };
}

/** A measurement of the pure-JS searcher's hashes/s over `hashes` hashes, after one warm-up. */
function jsRate(hashes: number): () => number {
  const searcher = createJsSearcher(challenge(0), NEVER0, NEVER1);
  searcher.search(String(START_PREFIX), 2_000);
  return () => {
    const started = now();
    const { hashes: done } = searcher.search(String(START_PREFIX), hashes / 10);
    return done / ((now() - started) / 1000);
  };
}

/** hashes/s of `solve`'s worker split: a fixed range searched to exhaustion (no hit at difficulty 40). */
async function workerRate(kind: KernelKind, workers: number, hashes: number): Promise<number> {
  const spawn = defaultEnvironment().spawn;
  if (!spawn) return Number.NaN;
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
  await search(challenge(1), prefixes);
  return (prefixes * 10) / ((now() - started) / 1000);
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
    const started = now();
    for (let i = 0; i < 4; i++) {
      const ci = challenge(i);
      for (let n = 1_000_000; n < 1_000_000 + hashes / 4; n++) {
        if (leadingZeroBits(hashOnce(ci + n)) >= 40) found++;
      }
    }
    if (found > 0) throw new Error("a 40-bit hit in a bench range: pick other challenges");
    return hashes / ((now() - started) / 1000);
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
}

async function solveTimes(difficulty: number, count: number): Promise<SolveTimes> {
  // Steady state: engines optimize the kernel after its first few hundred thousand hashes.
  for (let i = 0; i < 5; i++) await solve(challenge(100 + i), 15);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const c = challenge(1000 * difficulty + i);
    const started = now();
    await solve(c, difficulty);
    times.push(now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    p50: percentile(times, 0.5),
    p95: percentile(times, 0.95),
    p99: percentile(times, 0.99),
  };
}

export async function runPowBench(opts: BenchOptions): Promise<BenchSection> {
  // Per round; each single-thread subject is measured once per round.
  const rounds = 8;
  const kernelHashes = opts.short ? 750_000 : 2_000_000;
  const baselineHashes = opts.short ? 40_000 : 100_000;
  // Short runs only report the worker rates (info), so they measure less.
  const workerHashes = opts.short ? 4_000_000 : 64_000_000;

  // First use in this process: the calibration runs here.
  const calibrationStarted = now();
  const backend = await solverBackend();
  const calibrationMs = now() - calibrationStarted;
  const calibratedRates = calibrationOf(defaultRuntime)?.rates ?? {};
  const workerKind: KernelKind = backend === "js" ? "wasm-scalar" : backend;
  const native = nativeSha256BlocksPerSecond(1);

  const hasher = await createSHA256();
  const rates = await interleavedRounds(rounds, {
    simd: await kernelRate("wasm-simd", kernelHashes),
    scalar: await kernelRate("wasm-scalar", kernelHashes / 2),
    js: jsRate(baselineHashes),
    nodeCrypto: perCallRate((m) => createHash("sha256").update(m).digest(), baselineHashes),
    hashWasm: perCallRate((m) => {
      hasher.init();
      hasher.update(m);
      return hasher.digest("binary");
    }, baselineHashes),
  });
  const simd = bestRate(rates.simd);
  const scalar = bestRate(rates.scalar);
  const js = bestRate(rates.js);
  const nodeCrypto = bestRate(rates.nodeCrypto);
  const hashWasm = bestRate(rates.hashWasm);

  // Interleaved too, one worker then two, and the ratio taken between the best of each.
  const workerRounds = await interleavedRounds(3, {
    one: () => workerRate(workerKind, 1, workerHashes / 6),
    two: () => workerRate(workerKind, 2, workerHashes / 3),
  });
  const oneWorker = bestRate(workerRounds.one);
  const twoWorkers = bestRate(workerRounds.two);

  const d15 = await solveTimes(15, opts.short ? 40 : 300);
  const d20 = await solveTimes(20, opts.short ? 6 : 30);

  const perCoreTarget = isBun ? 6e6 : 10e6;
  const nativeTarget = isBun ? 0.8 : 1.4;
  const chosenRate = backend === "wasm-simd" ? simd : backend === "wasm-scalar" ? scalar : js;
  const calibrationNote = Object.entries(calibratedRates)
    .map(([kind, perMs]) => `${kind} ${((perMs as number) / 1000).toFixed(1)} M/s`)
    .join(", ");
  const rows: BenchRow[] = [
    {
      label: `backend chosen: ${backend}`,
      value: calibrationMs,
      unit: "ms",
      note: `calibration on first use${calibrationNote ? `: ${calibrationNote}` : ""}`,
    },
    {
      label: "native SHA-256, no SHA-NI",
      value: native,
      unit: "block/s",
      note: "openssl speed -evp sha256, 1 core, 16 KiB buffers",
    },
    {
      label: "wasm-simd, 1 thread",
      value: simd,
      unit: "hash/s",
      note: `best of ${rounds} interleaved rounds`,
    },
    { label: "wasm-scalar, 1 thread", value: scalar, unit: "hash/s" },
    { label: "pure-JS fallback, 1 thread", value: js, unit: "hash/s" },
    {
      label: `${workerKind}, 1 worker`,
      value: oneWorker,
      unit: "hash/s",
      note: "solve's worker path, incl. start-up",
    },
    {
      label: `${workerKind}, 2 workers`,
      value: twoWorkers,
      unit: "hash/s",
      note: "needs a free second core",
    },
    {
      label: "node:crypto per nonce",
      value: nodeCrypto,
      unit: "hash/s",
      note: "createHash().update().digest()",
    },
    { label: "hash-wasm per nonce", value: hashWasm, unit: "hash/s", note: "createSHA256() reused" },
    { label: "simd / hash-wasm", value: simd / hashWasm, unit: "x" },
    { label: "simd / node:crypto", value: simd / nodeCrypto, unit: "x" },
    { label: "simd / native no SHA-NI", value: simd / native, unit: "x" },
    { label: "scalar / native no SHA-NI", value: scalar / native, unit: "x" },
    { label: "chosen / faster kernel", value: chosenRate / Math.max(simd, scalar), unit: "x" },
    { label: "2 workers / 1 worker", value: twoWorkers / oneWorker, unit: "x" },
    {
      label: "solve d15 mean",
      value: d15.mean,
      unit: "ms",
      note: `${opts.short ? 40 : 300} challenges; LIME's Python solver: ~40 ms median`,
    },
    { label: "solve d15 p50", value: d15.p50, unit: "ms" },
    { label: "solve d15 p99", value: d15.p99, unit: "ms" },
    { label: "solve d20 mean", value: d20.mean, unit: "ms" },
    { label: "solve d20 p95", value: d20.p95, unit: "ms" },
  ];
  const gates: BenchGate[] = [
    { name: "simd 1 thread >= 5x hash-wasm", actual: simd / hashWasm, min: 5, unit: "x", inShortMode: true },
    {
      name: "calibrated backend >= 0.85x the faster kernel",
      actual: chosenRate / Math.max(simd, scalar),
      min: 0.85,
      unit: "x",
      inShortMode: true,
    },
    {
      name: "2 workers >= 1.8x 1 worker",
      actual: twoWorkers / oneWorker,
      min: 1.8,
      unit: "x",
      inShortMode: false,
    },
    {
      name: `simd >= ${perCoreTarget / 1e6} M/s per core`,
      actual: simd,
      min: perCoreTarget,
      unit: "hash/s",
      inShortMode: false,
    },
    { name: "solve d15 mean < 5 ms", actual: d15.mean, max: 5, unit: "ms", inShortMode: false },
    // Issue 13's targets, full run only: a ratio to native measured in the same run, and the d15 tail.
    {
      name: `simd >= ${nativeTarget}x native no SHA-NI`,
      actual: simd / native,
      min: nativeTarget,
      unit: "x",
      inShortMode: false,
    },
    { name: "solve d15 p99 <= 12 ms", actual: d15.p99, max: 12, unit: "ms", inShortMode: false },
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
