#!/usr/bin/env bun
/**
 * The verification budget, for site teams: does verifying an agent passport
 * stay under the seed's 10 ms on this machine, against this issuer?
 *
 *   bun run bench:verify                      # a local server (createApp, temp DB, free port)
 *   bun run bench:verify --issuer https://lime.example   # LIME_AGENT_TOKEN mints the passports;
 *                                             # LIME_ADMIN_TOKEN, if set, enables the rotation part
 *   options: --budget-ms 10  --passports 20000  --distinct 200  --short  --api-base URL
 *            --allow-insecure-transport   (development only: a plain http issuer off loopback)
 *
 * It measures, with the SDK's own `PassportVerifier` (what a site runs):
 * - cold start: a fresh verifier's first verification, JWKS fetch included;
 * - warm verification: p50/p95/p99/max over N verifications of distinct
 *   passports, and the number of network calls they made (must be 0);
 * - across a key rotation (POST /api/v1/admin/keys/rotate): passports signed
 *   before and after verify with the warm verifier, the pre-published next key
 *   needs no refetch; and the cost of the one refetch an unannounced kid causes.
 * It prints a table and an ASCII histogram, writes bench/out/verify-budget.json
 * and bench/out/verify-budget.svg (log axes, the budget as a line). Exit
 * codes: 0 within budget; 1 p99 over --budget-ms (or another gate failed);
 * 2 usage or configuration (an option, LIME_AGENT_TOKEN); 3 the run failed
 * (the issuer unreachable or refusing). `runVerifyBudgetBench` is the same
 * measurement as a section for bench/run.ts.
 *
 * The verifications also fall into rounds. CI's short gate judges the p99 of
 * the best round: a neighbour on a shared machine can stall one round past the
 * budget, which says nothing of the verifier; a full run and this command
 * judge the p99 of every sample as well.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassportVerifier } from "@lime-ts/sdk";
import { HttpClient } from "../sdk/internal/http.ts";
import { httpUrlOrUndefined, requireSecureTransport } from "../sdk/internal/loopback.ts";
import { startSdkTestServer } from "../test/sdk/helpers/server.ts";
import {
  asciiHistogram,
  type Bucket,
  formatMs,
  type LatencySummary,
  logHistogram,
  summarize,
} from "./lib/histogram.ts";
import { svgHistogram } from "./lib/histogram-svg.ts";
import { bestLatency } from "./lib/rounds.ts";
import { formatSection } from "./lib/table.ts";
import type { BenchGate, BenchOptions, BenchRow, BenchSection } from "./lib/types.ts";

export interface VerifyBudgetOptions extends BenchOptions {
  /** A running issuer to measure against; default: a local server started for the run. */
  issuer?: string;
  /** API base for minting passports; default: the issuer. */
  apiBase?: string;
  /**
   * Accept a plain `http:` issuer or API base off loopback (the agent token and
   * the keys travel in clear). Development only; loopback never needs it.
   */
  allowInsecureTransport?: boolean;
  /** p99 budget in milliseconds; default 10 (the seed's promise). */
  budgetMs?: number;
  /** Warm verifications measured; default 20000 (2000 in short mode). */
  verifications?: number;
  /** Distinct passports cycled through; default 200 (50 in short mode, at most 50 against a remote issuer). */
  distinct?: number;
  /** Where the JSON and SVG go; default bench/out. */
  outDir?: string;
  /** Agent token for a remote issuer (default LIME_AGENT_TOKEN). */
  agentToken?: string;
  /** Admin token for the rotation part against a remote issuer (default LIME_ADMIN_TOKEN). */
  adminToken?: string;
}

export interface VerifyBudgetResult {
  section: BenchSection;
  issuer: string;
  budgetMs: number;
  cold: LatencySummary;
  warm: LatencySummary;
  warmHistogram: Bucket[];
  rotation: RotationResult | { skipped: string };
}

interface RotationResult {
  firstAfterRotationMs: number;
  afterRotation: LatencySummary;
  /** The lowest p99 among the passes over the passports. */
  afterRotationBestPassP99: number;
  refetchesForPrePublishedKey: number;
  passportsRefused: number;
  kidMissRefetchMs: number;
  kidMissRefetches: number;
}

const AUDIENCE = "https://bench.lime.example";

function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; process?: { versions?: { node?: string } } };
  return g.Bun ? `bun ${g.Bun.version}` : `node ${g.process?.versions?.node ?? "?"}`;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
}

interface Issuer {
  url: string;
  /** The run's `--allow-insecure-transport` (a local issuer is on loopback and never needs it). */
  allowInsecureTransport: boolean;
  mint(count: number): Promise<string[]>;
  /** Rotates the signing keys, or undefined when this run cannot. */
  rotate: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

async function localIssuer(): Promise<Issuer> {
  const server = await startSdkTestServer();
  const ids = await server.provision();
  const http = new HttpClient({ baseUrl: server.url });
  return {
    url: server.url,
    allowInsecureTransport: false,
    mint: (count) => mintPassports(http, ids.agentToken, count),
    rotate: async () => {
      await server.rotateKeys();
    },
    close: () => server.stop(),
  };
}

/** A run that cannot start as configured; the command line reports it in one line, exit 2. */
export class VerifyBudgetConfigError extends Error {}

function remoteIssuer(options: VerifyBudgetOptions): Issuer {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const agentToken = options.agentToken ?? env.LIME_AGENT_TOKEN;
  if (!agentToken) {
    throw new VerifyBudgetConfigError(
      "--issuer needs LIME_AGENT_TOKEN: set it to the token of an agent registered on that issuer " +
        "(it mints the passports to verify)",
    );
  }
  const adminToken = options.adminToken ?? env.LIME_ADMIN_TOKEN;
  const allowInsecureTransport = options.allowInsecureTransport === true;
  // Before anything is sent: the agent token goes to the API base, the keys come from the issuer.
  for (const [label, value] of [
    ["--issuer", options.issuer!],
    ["--api-base", options.apiBase],
  ] as const) {
    const url = value === undefined ? undefined : httpUrlOrUndefined(value);
    if (url !== undefined) {
      requireSecureTransport(url, label, allowInsecureTransport, "pass --allow-insecure-transport");
    }
  }
  const http = new HttpClient({ baseUrl: options.apiBase ?? options.issuer!, allowInsecureTransport });
  return {
    url: options.issuer!.replace(/\/+$/, ""),
    allowInsecureTransport,
    mint: (count) => mintPassports(http, agentToken, count),
    rotate: adminToken
      ? async () => {
          await http.send({
            method: "POST",
            path: "/api/v1/admin/keys/rotate",
            headers: { authorization: `Bearer ${adminToken}` },
            body: {},
            idempotent: false,
          });
        }
      : undefined,
    close: async () => {},
  };
}

async function mintPassports(http: HttpClient, agentToken: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const data = await http.send<{ passport: string }>({
      method: "POST",
      path: "/api/v1/core/passports",
      headers: { "x-agent-token": agentToken },
      body: { audience: AUDIENCE },
      idempotent: true,
    });
    tokens.push(data.passport);
  }
  return tokens;
}

function verifierFor(issuer: Issuer, cooldownMs?: number): PassportVerifier {
  return new PassportVerifier({
    issuer: issuer.url,
    audience: AUDIENCE,
    allowInsecureTransport: issuer.allowInsecureTransport,
    jwks: cooldownMs === undefined ? undefined : { cooldownMs },
  });
}

async function measureRotation(
  issuer: Issuer,
  warm: PassportVerifier,
  before: string[],
  distinct: number,
  passes: number,
) {
  await issuer.rotate!();
  const after = await issuer.mint(Math.max(10, Math.floor(distinct / 2)));
  const requestsBefore = warm.jwks.stats.requests;
  const [, firstAfterRotationMs] = await timed(() => warm.verify(after[0]!));
  const samples: number[] = [];
  const passP99s: number[] = [];
  const refused = new Set<string>();
  for (let pass = 0; pass < passes; pass++) {
    const passSamples: number[] = [];
    for (const token of [...after, ...before]) {
      const started = performance.now();
      try {
        await warm.verify(token);
        passSamples.push(performance.now() - started);
      } catch {
        refused.add(token);
      }
    }
    samples.push(...passSamples);
    passP99s.push(summarize(passSamples).p99);
  }
  const refetchesForPrePublishedKey = warm.jwks.stats.requests - requestsBefore;
  // Two more rotations put a key in charge that the cached set never listed.
  const eager = verifierFor(issuer, 0);
  await eager.verify(after[0]!);
  await issuer.rotate!();
  await issuer.rotate!();
  const [unannounced] = await issuer.mint(1);
  const [, kidMissRefetchMs] = await timed(() => eager.verify(unannounced!));
  return {
    firstAfterRotationMs,
    afterRotation: summarize(samples),
    afterRotationBestPassP99: bestLatency(passP99s),
    refetchesForPrePublishedKey,
    passportsRefused: refused.size,
    kidMissRefetchMs,
    kidMissRefetches: eager.jwks.stats.kidMissRefetches,
  } satisfies RotationResult;
}

/** The whole measurement; `runVerifyBudgetBench` returns just its section. */
export async function runVerifyBudget(options: VerifyBudgetOptions): Promise<VerifyBudgetResult> {
  const budgetMs = options.budgetMs ?? 10;
  const verifications = options.verifications ?? (options.short ? 2_000 : 20_000);
  const remote = options.issuer !== undefined;
  const distinct = Math.min(
    options.distinct ?? (options.short ? 50 : 200),
    remote ? 50 : Number.POSITIVE_INFINITY,
  );
  const coldRuns = options.short ? 5 : 20;
  const rounds = options.short ? 8 : 10;
  const issuer = remote ? remoteIssuer(options) : await localIssuer();
  try {
    const passports = await issuer.mint(distinct);

    const coldSamples: number[] = [];
    let warm = verifierFor(issuer);
    for (let i = 0; i < coldRuns; i++) {
      warm = verifierFor(issuer);
      const [, ms] = await timed(() => warm.verify(passports[i % passports.length]!));
      coldSamples.push(ms);
    }

    for (let i = 0; i < Math.min(500, verifications); i++)
      await warm.verify(passports[i % passports.length]!);
    const requestsBeforeWarm = warm.jwks.stats.requests;
    const warmSamples = new Array<number>(verifications);
    for (let i = 0; i < verifications; i++) {
      const token = passports[i % passports.length]!;
      const started = performance.now();
      await warm.verify(token);
      warmSamples[i] = performance.now() - started;
    }
    const warmNetworkCalls = warm.jwks.stats.requests - requestsBeforeWarm;
    const cold = summarize(coldSamples);
    const warmSummary = summarize(warmSamples);
    const roundSize = Math.floor(verifications / rounds);
    const warmBestRoundP99 = bestLatency(
      Array.from(
        { length: rounds },
        (_, r) => summarize(warmSamples.slice(r * roundSize, (r + 1) * roundSize)).p99,
      ),
    );
    const totalWarmMs = warmSamples.reduce((a, b) => a + b, 0);

    const rotation: RotationResult | { skipped: string } = issuer.rotate
      ? await measureRotation(issuer, warm, passports, distinct, rounds)
      : { skipped: "no admin token (set LIME_ADMIN_TOKEN to measure a rotation)" };

    const rows: BenchRow[] = [
      {
        label: "cold start p50 (JWKS fetch + verify)",
        value: cold.p50,
        unit: "ms",
        note: `${coldRuns} fresh verifiers`,
      },
      { label: "cold start max", value: cold.max, unit: "ms" },
      {
        label: "warm verify p50",
        value: warmSummary.p50,
        unit: "ms",
        note: `${verifications} verifications`,
      },
      { label: "warm verify p95", value: warmSummary.p95, unit: "ms" },
      { label: "warm verify p99", value: warmSummary.p99, unit: "ms" },
      {
        label: "warm verify p99, best round",
        value: warmBestRoundP99,
        unit: "ms",
        note: `${rounds} rounds of ${roundSize}`,
      },
      { label: "warm verify max", value: warmSummary.max, unit: "ms" },
      {
        label: "warm verifications per second",
        value: (verifications / totalWarmMs) * 1000,
        unit: "/s",
        note: "one at a time",
      },
      { label: "network calls during warm verification", value: warmNetworkCalls, unit: "requests" },
    ];
    const gates: BenchGate[] = [
      {
        name: `warm verify p99 <= ${budgetMs} ms`,
        actual: warmSummary.p99,
        max: budgetMs,
        unit: "ms",
        inShortMode: false,
      },
      {
        name: `warm verify p99 <= ${budgetMs} ms, best of ${rounds} rounds`,
        actual: warmBestRoundP99,
        max: budgetMs,
        unit: "ms",
        inShortMode: true,
      },
      {
        name: "no network call per warm verification",
        actual: warmNetworkCalls,
        max: 0,
        unit: "requests",
        inShortMode: true,
      },
    ];
    if (!("skipped" in rotation)) {
      rows.push(
        {
          label: "first verify after rotation",
          value: rotation.firstAfterRotationMs,
          unit: "ms",
          note: "new key was pre-published",
        },
        {
          label: "verify p99 across rotation",
          value: rotation.afterRotation.p99,
          unit: "ms",
          note: `old and new passports, ${rounds} passes`,
        },
        {
          label: "verify p99 across rotation, best pass",
          value: rotation.afterRotationBestPassP99,
          unit: "ms",
        },
        {
          label: "JWKS refetches for the pre-published key",
          value: rotation.refetchesForPrePublishedKey,
          unit: "requests",
        },
        {
          label: "verify with a kid-miss refetch",
          value: rotation.kidMissRefetchMs,
          unit: "ms",
          note: "unannounced key, one refetch",
        },
      );
      gates.push(
        {
          name: "passports refused across rotation",
          actual: rotation.passportsRefused,
          max: 0,
          unit: "passports",
          inShortMode: true,
        },
        {
          name: `verify p99 across rotation <= ${budgetMs} ms`,
          actual: rotation.afterRotation.p99,
          max: budgetMs,
          unit: "ms",
          inShortMode: false,
        },
        {
          name: `verify p99 across rotation <= ${budgetMs} ms, best of ${rounds} passes`,
          actual: rotation.afterRotationBestPassP99,
          max: budgetMs,
          unit: "ms",
          inShortMode: true,
        },
      );
    }
    const section: BenchSection = { name: "verify-budget", runtime: runtimeName(), rows, gates };
    const result: VerifyBudgetResult = {
      section,
      issuer: issuer.url,
      budgetMs,
      cold,
      warm: warmSummary,
      warmHistogram: logHistogram(warmSamples),
      rotation,
    };
    await writeOutputs(result, options.outDir ?? join(import.meta.dir, "out"));
    return result;
  } finally {
    await issuer.close();
  }
}

async function writeOutputs(result: VerifyBudgetResult, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const { section: _section, ...details } = result;
  const json = { date: new Date().toISOString(), section: result.section, ...details };
  await writeFile(join(outDir, "verify-budget.json"), `${JSON.stringify(json, null, 2)}\n`);
  const svg = svgHistogram(result.warmHistogram, {
    title: `Warm passport verification, ${result.section.runtime}, issuer ${result.issuer}`,
    summary: result.warm,
    budgetMs: result.budgetMs,
  });
  await writeFile(join(outDir, "verify-budget.svg"), svg);
}

/** The bench-runner section (bench/run.ts): a local server, the default budget. */
export async function runVerifyBudgetBench(opts: BenchOptions): Promise<BenchSection> {
  return (await runVerifyBudget(opts)).section;
}

function parseArgs(argv: string[]): VerifyBudgetOptions {
  const options: VerifyBudgetOptions = { short: false };
  const value = (i: number, name: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new Error(`${name} needs a value`);
    return v;
  };
  const positive = (raw: string, name: string): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const next = () => inline ?? value(++i, flag);
    switch (flag) {
      case "--short":
        options.short = true;
        break;
      case "--issuer":
        options.issuer = next();
        break;
      case "--api-base":
        options.apiBase = next();
        break;
      case "--allow-insecure-transport":
        options.allowInsecureTransport = true;
        break;
      case "--budget-ms":
        options.budgetMs = positive(next(), flag);
        break;
      case "--passports":
        options.verifications = Math.floor(positive(next(), flag));
        break;
      case "--distinct":
        options.distinct = Math.floor(positive(next(), flag));
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return options;
}

if (import.meta.main) {
  let options: VerifyBudgetOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`bench:verify: ${(error as Error).message}`);
    process.exit(2);
  }
  let result: VerifyBudgetResult;
  try {
    result = await runVerifyBudget(options);
  } catch (error) {
    // One line, no stack: what is wrong and, for a refusal, the server's or the SDK's code.
    const code = (error as { code?: unknown }).code;
    const prefix = typeof code === "string" ? `${code}: ` : "";
    console.error(`bench:verify: ${prefix}${error instanceof Error ? error.message : String(error)}`);
    // The SDK refuses a configured value (plain http off loopback, say) with a TypeError naming it.
    const misconfigured = error instanceof VerifyBudgetConfigError || error instanceof TypeError;
    process.exit(misconfigured ? 2 : 3);
  }
  console.log(`\nverification budget against ${result.issuer} (${result.section.runtime})`);
  console.log(formatSection(result.section, () => true));
  console.log(`\n  warm verification latency (${result.warm.count} samples, log buckets):`);
  console.log(asciiHistogram(result.warmHistogram, { budgetMs: result.budgetMs }));
  if ("skipped" in result.rotation) console.log(`\n  rotation: skipped, ${result.rotation.skipped}`);
  console.log("\n  wrote bench/out/verify-budget.json and bench/out/verify-budget.svg");
  const failed = result.section.gates.filter(
    (g) => (g.max !== undefined && !(g.actual <= g.max)) || (g.min !== undefined && !(g.actual >= g.min)),
  );
  console.log(
    failed.length === 0
      ? `  PASS: p99 ${formatMs(result.warm.p99)} within the ${result.budgetMs} ms budget`
      : `  FAIL: ${failed.map((g) => g.name).join("; ")}`,
  );
  process.exit(failed.length === 0 ? 0 : 1);
}
