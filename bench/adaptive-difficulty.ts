#!/usr/bin/env bun
/**
 * Adaptive difficulty under a flood (docs/adaptive-difficulty.md): one
 * server, site A flooded by a load generator that opens login requests and
 * solves them, site B with a well-behaved agent at a calm rate. Prints a
 * table and writes bench/out/adaptive-difficulty.svg: A's assigned
 * difficulty, the flooder's work per request (log2 of hashes, so it shares
 * the difficulty's axis in bits), and B's difficulty, over time.
 *
 *   bun bench/adaptive-difficulty.ts [--short]
 *
 * Time is simulated: the server runs on a test clock the bench advances one
 * second per step, so minutes of flood and recovery fit in seconds of wall
 * time while every login still goes over HTTP and every proof of work is
 * really solved. Hashes per request are the solver's exact count (the
 * smallest valid nonce + 1), not a timing. A section of bench/run.ts without
 * gates: it shows a curve, it judges nothing.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as pow from "@lime-ts/core/pow";
import { FakeClock, startTestServer, type TestServer } from "../server/testing.ts";
import { svgLinePlot } from "./lib/line-plot-svg.ts";
import { formatSection } from "./lib/table.ts";
import type { BenchOptions, BenchRow, BenchSection } from "./lib/types.ts";

const REQUESTS = "/api/v1/modules/agent-login/requests";
const FLOOR = 10;
const CEILING = 16;
const FLOODER_ADDRESS = "198.51.100.66";
const CALM_ADDRESS = "203.0.113.5";

interface Phase {
  name: string;
  seconds: number;
  /** Site A's login requests a minute (the flooder's, or ordinary traffic). */
  aPerMinute: number;
}

interface Sample {
  second: number;
  /** Mean difficulty of A's requests opened this second; null when none. */
  aDifficulty: number | null;
  aHashes: number;
  /** Σ 2^difficulty over A's requests this second: the expected hashes, without a solver's luck. */
  aExpectedHashes: number;
  aRequests: number;
  bDifficulty: number | null;
  /** Site A's `pow_difficulty_current` in the site API (every 5 s), what its owner sees. */
  aCurrent: number | null;
}

async function call(
  t: TestServer,
  path: string,
  init: { method?: string; headers?: Record<string, string>; json?: unknown },
) {
  const response = await fetch(t.url + path, {
    method: init.method ?? "GET",
    headers: { "content-type": "application/json", ...init.headers },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const body = (await response.json()) as { ok: boolean; data?: Record<string, unknown>; error?: unknown };
  if (!body.ok)
    throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${JSON.stringify(body.error)}`);
  return body.data!;
}

/** One whole login: open, fetch the challenge, solve it, approve. Returns the difficulty and the hashes it took. */
async function login(t: TestServer, siteToken: string, agentToken: string, address: string) {
  const created = await call(t, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": siteToken },
    json: {},
  });
  const id = created.login_request_id as string;
  const challenge = await call(t, `/api/v1/auth/requests/${id}`, { headers: { "x-forwarded-for": address } });
  const difficulty = challenge.pow_difficulty as number;
  const { nonce } = await pow.solve(challenge.pow_challenge as string, difficulty, { workers: 1 });
  await call(t, `${REQUESTS}/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": agentToken, "x-forwarded-for": address },
    json: { pow_nonce: nonce },
  });
  // `solve` returns the smallest valid nonce, so a search from 0 tried exactly nonce + 1 hashes.
  return { difficulty, hashes: Number(nonce) + 1 };
}

/** What the owner's site list says a request of the site would get now. */
async function currentDifficulty(t: TestServer, sessionToken: string, siteId: string): Promise<number> {
  const listed = await call(t, "/api/v1/foundation/sites", {
    headers: { authorization: `Bearer ${sessionToken}` },
  });
  const sites = listed.sites as Array<{ site_id: string; pow_difficulty_current: number }>;
  return sites.find((s) => s.site_id === siteId)!.pow_difficulty_current;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;

export interface AdaptiveDifficultyResult {
  section: BenchSection;
  samples: Sample[];
  svg: string;
}

export async function runAdaptiveDifficulty(opts: BenchOptions): Promise<AdaptiveDifficultyResult> {
  const floodPerMinute = opts.short ? 300 : 600;
  const phases: Phase[] = [
    { name: "calm", seconds: 60, aPerMinute: 6 },
    { name: "flood", seconds: opts.short ? 120 : 180, aPerMinute: floodPerMinute },
    { name: "calm again", seconds: 240, aPerMinute: 6 },
  ];
  const bPerMinute = 6;
  const clock = new FakeClock();
  const t = await startTestServer({
    clock,
    config: {
      trustProxy: true,
      rateLimits: {
        loginRequestsPerMinute: 100_000,
        challengeFetchesPerMinute: 100_000,
        approvalsPerMinute: 100_000,
      },
    },
  });
  const started = performance.now();
  const samples: Sample[] = [];
  try {
    const a = await t.provision({ powDifficulty: FLOOR });
    const b = await t.provision({ powDifficulty: FLOOR });
    await call(t, `/api/v1/foundation/sites/${a.siteId}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${a.sessionToken}` },
      json: { pow_difficulty_max: CEILING },
    });
    let second = 0;
    // Fractional arrivals carried from second to second, so 6 a minute is one every 10 s.
    let aDue = 0;
    let bDue = 0;
    for (const phase of phases) {
      for (let s = 0; s < phase.seconds; s++, second++) {
        aDue += phase.aPerMinute / 60;
        bDue += bPerMinute / 60;
        const aLogins: Array<{ difficulty: number; hashes: number }> = [];
        const address = phase.name === "flood" ? FLOODER_ADDRESS : CALM_ADDRESS;
        for (; aDue >= 1; aDue--) aLogins.push(await login(t, a.siteToken, a.agentToken, address));
        const bLogins: number[] = [];
        for (; bDue >= 1; bDue--)
          bLogins.push((await login(t, b.siteToken, b.agentToken, CALM_ADDRESS)).difficulty);
        const aCurrent = second % 5 === 0 ? await currentDifficulty(t, a.sessionToken, a.siteId) : null;
        samples.push({
          second,
          aCurrent,
          aDifficulty: mean(aLogins.map((l) => l.difficulty)),
          aHashes: aLogins.reduce((sum, l) => sum + l.hashes, 0),
          aExpectedHashes: aLogins.reduce((sum, l) => sum + 2 ** l.difficulty, 0),
          aRequests: aLogins.length,
          bDifficulty: mean(bLogins),
        });
        clock.advance(1_000);
      }
    }
  } finally {
    await t.stop();
  }
  const wallSeconds = (performance.now() - started) / 1000;

  const floodStart = phases[0]!.seconds;
  const floodEnd = floodStart + phases[1]!.seconds;
  const inRange = (from: number, to: number) => samples.filter((s) => s.second >= from && s.second < to);
  const hashesPerRequest = (range: Sample[], expected = false) => {
    const requests = range.reduce((n, s) => n + s.aRequests, 0);
    const hashes = range.reduce((n, s) => n + (expected ? s.aExpectedHashes : s.aHashes), 0);
    return requests === 0 ? 0 : hashes / requests;
  };
  const aDifficulties = (range: Sample[]) =>
    range.flatMap((s) => (s.aDifficulty === null ? [] : [s.aDifficulty]));
  const bDifficulties = samples.flatMap((s) => (s.bDifficulty === null ? [] : [s.bDifficulty]));
  const calmCost = hashesPerRequest(inRange(0, floodStart), true);
  const floodFirst10 = hashesPerRequest(inRange(floodStart, floodStart + 10));
  const floodLast30 = hashesPerRequest(inRange(floodEnd - 30, floodEnd));
  const floodLast30Expected = hashesPerRequest(inRange(floodEnd - 30, floodEnd), true);
  const lastA = samples.filter((s) => s.aDifficulty !== null).at(-1)?.aDifficulty ?? 0;
  const rows: BenchRow[] = [
    { label: "site A floor / ceiling", value: FLOOR, unit: "bits", note: `ceiling ${CEILING}, surge 30/min` },
    {
      label: "flood rate on site A",
      value: floodPerMinute,
      unit: "req/min",
      note: `for ${phases[1]!.seconds} s`,
    },
    { label: "A difficulty, calm", value: Math.max(...aDifficulties(inRange(0, floodStart))), unit: "bits" },
    {
      label: "A difficulty, flood peak",
      value: Math.max(...aDifficulties(inRange(floodStart, floodEnd))),
      unit: "bits",
    },
    {
      label: "A difficulty, end of recovery",
      value: lastA,
      unit: "bits",
      note: `${phases[2]!.seconds} s calm`,
    },
    { label: "expected hashes/request at the floor", value: calmCost, unit: "hashes", note: "2^floor" },
    { label: "flooder hashes/request, first 10 s", value: floodFirst10, unit: "hashes", note: "solved" },
    { label: "flooder hashes/request, last 30 s", value: floodLast30, unit: "hashes", note: "solved" },
    {
      label: "flooder cost growth",
      value: floodLast30Expected / calmCost,
      unit: "x",
      note: `expected, last 30 s of flood vs calm; solved: ${(floodLast30 / calmCost).toFixed(1)}x`,
    },
    {
      label: "B difficulty, max over the run",
      value: Math.max(...bDifficulties),
      unit: "bits",
      note: "its floor is 10",
    },
    { label: "wall time", value: wallSeconds, unit: "s", note: `${samples.length} simulated seconds` },
  ];
  // Work per request over the last 30 s, as log2 (bits): one lucky or unlucky solve should not make the curve.
  const workBits = samples.map((s): [number, number | null] => {
    const cost = hashesPerRequest(inRange(s.second - 29, s.second + 1));
    return [s.second, cost === 0 ? null : Math.log2(cost)];
  });
  const svg = svgLinePlot({
    title: "Adaptive proof-of-work difficulty: site A flooded, site B calm",
    subtitle: `floor ${FLOOR}, ceiling ${CEILING}, surge 30/min; flood ${floodPerMinute}/min on A; B at ${bPerMinute}/min`,
    xLabel: "simulated seconds",
    yLabel: "bits (difficulty; log2 of hashes per request)",
    yRange: [FLOOR - 4, CEILING + 1],
    bands: [{ from: floodStart, to: floodEnd, label: "flood on site A" }],
    series: [
      {
        label: "A: assigned difficulty",
        color: "#c0392b",
        points: samples.map((s) => [s.second, s.aDifficulty]),
      },
      {
        label: "A: log2 hashes/request (30 s)",
        color: "#e59866",
        dashed: true,
        points: workBits,
      },
      {
        label: "A: current (site API)",
        color: "#7d3c98",
        dashed: true,
        points: samples.map((s) => [s.second, s.aCurrent]),
      },
      {
        label: "B: assigned difficulty",
        color: "#2e86c1",
        points: samples.map((s) => [s.second, s.bDifficulty]),
      },
    ],
  });
  return { section: { name: "adaptive-difficulty", runtime: "bun", rows, gates: [] }, samples, svg };
}

/** The section for bench/run.ts: measures, writes the SVG, reports rows and no gates. */
export async function runAdaptiveDifficultyBench(opts: BenchOptions): Promise<BenchSection> {
  const result = await runAdaptiveDifficulty(opts);
  const outDir = join(import.meta.dir, "out");
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, "adaptive-difficulty.svg"), result.svg);
  return result.section;
}

if (import.meta.main) {
  const section = await runAdaptiveDifficultyBench({ short: process.argv.includes("--short") });
  console.log(formatSection(section, () => false));
  console.log("[bench] wrote bench/out/adaptive-difficulty.svg");
}
