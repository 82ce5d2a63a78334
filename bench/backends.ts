/**
 * Storage backends bench (issue 10): complete login flows per second and
 * their latency on one instance on SQLite, one on PostgreSQL and three on
 * PostgreSQL behind a balancer (and three on PostgreSQL with Redis, in a full
 * run when `redis-server` is installed), in the same run and beside the
 * RSA-2048 signing rate measured in it; then event streams held by one
 * instance on PostgreSQL (200 in short mode, 20,000 in a full run:
 * bench/lib/stream-load.ts), the memory each costs and how fast outcomes
 * reach them.
 *
 * Every server is a `bun server/main.ts` process started as an operator
 * starts one (test/server/postgres/fleet.ts), with `ACCESS_LOG=off`: one JSON
 * line per request is a cost of the log pipe, not of the server, and the bench
 * measures the server. PostgreSQL is a private one from `initdb`
 * (test/server/postgres/postgres-server.ts), `fsync=off`, on the same two
 * cores as everything else.
 *
 * A flow is create → challenge → solve (PoW difficulty 8, a few hundred
 * hashes) → approve → the outcome on the site's SSE stream, driven by 32
 * concurrent agents (32 registered agents, one loop each) from this process.
 * On the fleet the site's and agents' requests go through the balancer,
 * connection by connection round-robin, while the site's stream is held on
 * the first instance, so about two outcomes in three reach it from another
 * instance over LISTEN/NOTIFY (or Redis). The balancer runs in a process of
 * its own (bench/lib/balancer-process.ts), so it takes nothing from the load
 * generator.
 *
 * With the load generator, the servers and PostgreSQL on the same two cores,
 * flows per wall-clock second mostly say who got the cores; each target is
 * therefore also costed in CPU time per flow, read from /proc for every
 * process involved (bench/lib/proc.ts), beside the CPU time of one RSA
 * signature. The targets and the signing loop are measured in interleaved
 * rounds (bench/lib/rounds.ts): throughput keeps its best round, the CPU
 * costs the round with the lowest total, the latency percentiles pool every
 * round's flows. PostgreSQL's CPU is the whole server's, so a PostgreSQL
 * target's share carries the idle work (maintenance, the lease) of the other
 * instances connected to it, a few tenths of a millisecond per flow.
 *
 * No gate on an absolute number: the ratios gated are PostgreSQL's flows
 * per CPU-second against SQLite's, measured side by side; and a count, the
 * PostgreSQL transactions per outcome delivered to a stream (see `gates`);
 * and every held stream must receive every outcome.
 *
 * Without PostgreSQL (no `initdb`) the section prints a skip notice; under CI
 * (`CI` set) its absence fails the gate, as the PostgreSQL tests do.
 *
 * Run alone: `bun bench/backends.ts [--short]`.
 */
import { rmSync } from "node:fs";
import {
  FLEET_METRICS_TOKEN,
  type FleetEnv,
  type FleetInstance,
  startInstance,
} from "../test/server/postgres/fleet.ts";
import {
  type PostgresServer,
  postgresAvailable,
  startPostgresServer,
} from "../test/server/postgres/postgres-server.ts";
import { type RedisServer, redisServerPath, startRedisServer } from "../test/server/redis/redis-server.ts";
import {
  complete,
  loginFlow,
  openSiteStream,
  ownCpuMicros,
  provisionOwner,
  rsaSigner,
  type SiteStream,
} from "./lib/flows.ts";
import { summarize } from "./lib/histogram.ts";
import { childInDirectory, childrenMatching, procAvailable, treeCpuMicros } from "./lib/proc.ts";
import { bestRate, interleavedRounds } from "./lib/rounds.ts";
import {
  measureStreamLoad,
  raiseDescriptorLimit,
  STREAM_SERVER_ENV,
  STREAMS_PER_SITE,
  type StreamLoadResult,
} from "./lib/stream-load.ts";
import type { BenchGate, BenchOptions, BenchRow, BenchSection } from "./lib/types.ts";

/** The sites' PoW difficulty: low, so the flows measure the server and not the agents' hashing. */
const POW_DIFFICULTY = 8;
/** Concurrent agents, each a registered agent of its own looping over flows. */
const AGENTS = 32;
/** Paced approvals in short mode: 200 streams × 15 is enough CPU time for /proc's 10 ms ticks. */
const DELIVERY_ROUNDS_SHORT = 15;
/** The gate on database transactions per outcome delivered to a stream (see `gates`). */
const DELIVERY_TRANSACTIONS_MAX = 0.5;
/** The issuer every instance names; nothing in a flow resolves it. */
const PUBLIC_URL = "http://lime-bench.invalid";

/** Environment on top of fleet.ts's (which raises the rate limits): the server measured, not its log. */
const SERVER_ENV: Record<string, string> = {
  ACCESS_LOG: "off",
  DEFAULT_POW_DIFFICULTY: String(POW_DIFFICULTY),
  SSE_KEEPALIVE_SECONDS: "15",
};

type TargetKey = "sqlite" | "postgres" | "fleet" | "fleetRedis";

const LABELS: Record<TargetKey, string> = {
  sqlite: "SQLite, 1 instance",
  postgres: "PostgreSQL, 1 instance",
  fleet: "PostgreSQL, 3 instances",
  fleetRedis: "PostgreSQL+Redis, 3 instances",
};

/** Where CPU time goes during a slice, in microseconds. */
interface CpuSplit {
  /** This process: the agents and the site (HTTP clients, PoW, SSE parsing). */
  generator: number;
  /** The LIME server processes. */
  servers: number;
  /** PostgreSQL (postmaster and backends) and Redis. */
  database: number;
  balancer: number;
  /** Each server process's share, in start order. */
  perServer: number[];
}

interface Target {
  key: TargetKey;
  serverPids: number[];
  databasePids: number[];
  balancerPid: number | null;
  flow(loop: number): Promise<void>;
  close(): Promise<void>;
}

interface FlowSlice {
  completed: number;
  perSecond: number;
  latenciesMs: number[];
  cpu: CpuSplit;
}

interface SigningSlice {
  perSecond: number;
  perCpuSecond: number;
}

function kek(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/** Instances started together (one migrates and makes the keys, the others adopt them), with their pids. */
async function startServers(names: string[], env: FleetEnv) {
  const instances: FleetInstance[] = [];
  const started = await Promise.allSettled(names.map((name) => startInstance(name, env, 60_000)));
  for (const result of started) if (result.status === "fulfilled") instances.push(result.value);
  const stop = async () => {
    for (const instance of instances) {
      await instance.kill("SIGTERM");
      rmSync(instance.cwd, { recursive: true, force: true });
    }
  };
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { instances, pids: instances.map((i) => childInDirectory(i.cwd)), stop };
}

/** The fleet tests' balancer in a child process; resolves with its URL and pid. */
async function startBalancerProcess(ports: number[]) {
  const child = Bun.spawn(
    [process.execPath, `${import.meta.dir}/lib/balancer-process.ts`, ...ports.map(String)],
    { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
  );
  const reader = child.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the balancer exited");
    line += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    url: line.trim(),
    pid: child.pid,
    stop: async () => {
      child.stdin.end();
      child.kill();
      await child.exited;
    },
  };
}

/**
 * A target: `count` instances on `databaseUrl` ("" for SQLite), an owner
 * with one site and AGENTS agents, the site's stream on the first instance;
 * with more than one instance, the flows' requests go through a balancer.
 */
async function startTarget(
  key: TargetKey,
  count: number,
  env: FleetEnv,
  databasePids: number[],
): Promise<Target> {
  const servers = await startServers(
    Array.from({ length: count }, (_, i) => `${key}-${i}`),
    env,
  );
  let balancer: Awaited<ReturnType<typeof startBalancerProcess>> | null = null;
  let stream: SiteStream | null = null;
  const close = async () => {
    stream?.close();
    await balancer?.stop();
    await servers.stop();
  };
  try {
    const first = servers.instances[0]!;
    if (count > 1) balancer = await startBalancerProcess(servers.instances.map((i) => i.port));
    const url = balancer?.url ?? first.url;
    const owner = await provisionOwner(url, { agents: AGENTS, powDifficulty: POW_DIFFICULTY });
    const siteToken = owner.siteTokens[0]!;
    const siteStream = openSiteStream(first.url, siteToken);
    stream = siteStream;
    await siteStream.ready;
    return {
      key,
      serverPids: servers.pids,
      databasePids,
      balancerPid: balancer?.pid ?? null,
      flow: (loop) => loginFlow(url, siteToken, owner.agentTokens[loop % AGENTS]!, siteStream),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function cpuNow(target: Target): CpuSplit {
  const perServer = target.serverPids.map((pid) => treeCpuMicros([pid]));
  return {
    generator: ownCpuMicros(),
    servers: perServer.reduce((a, b) => a + b, 0),
    database: treeCpuMicros(target.databasePids),
    balancer: target.balancerPid === null ? 0 : treeCpuMicros([target.balancerPid]),
    perServer,
  };
}

async function flowSlice(target: Target, durationMs: number): Promise<FlowSlice> {
  const latenciesMs: number[] = [];
  const before = cpuNow(target);
  const { completed, elapsedMs } = await complete(durationMs, AGENTS, async (loop) => {
    const started = performance.now();
    await target.flow(loop);
    latenciesMs.push(performance.now() - started);
  });
  const after = cpuNow(target);
  return {
    completed,
    perSecond: completed / (elapsedMs / 1000),
    latenciesMs,
    cpu: {
      generator: after.generator - before.generator,
      servers: after.servers - before.servers,
      database: after.database - before.database,
      balancer: after.balancer - before.balancer,
      perServer: after.perServer.map((v, i) => v - before.perServer[i]!),
    },
  };
}

async function signingSlice(sign: () => Promise<void>, durationMs: number): Promise<SigningSlice> {
  const before = ownCpuMicros();
  const { completed, elapsedMs } = await complete(durationMs, 1, sign);
  return {
    perSecond: completed / (elapsedMs / 1000),
    perCpuSecond: completed / ((ownCpuMicros() - before) / 1e6),
  };
}

const totalCpu = (cpu: CpuSplit) => cpu.generator + cpu.servers + cpu.database + cpu.balancer;

interface TargetResult {
  key: TargetKey;
  perSecond: number;
  p50: number;
  p99: number;
  flows: number;
  /** The round with the lowest total CPU per flow: its split, per flow, in ms. */
  msPerFlow: { total: number; servers: number; database: number; generator: number; balancer: number };
  serverShares: number[];
}

function summarizeTarget(key: TargetKey, slices: FlowSlice[]): TargetResult {
  const latency = summarize(slices.flatMap((s) => s.latenciesMs));
  const cheapest = slices.reduce((best, s) =>
    totalCpu(s.cpu) / s.completed < totalCpu(best.cpu) / best.completed ? s : best,
  );
  const per = (micros: number) => micros / cheapest.completed / 1000;
  return {
    key,
    perSecond: bestRate(slices.map((s) => s.perSecond)),
    p50: latency.p50,
    p99: latency.p99,
    flows: latency.count,
    msPerFlow: {
      total: per(totalCpu(cheapest.cpu)),
      servers: per(cheapest.cpu.servers),
      database: per(cheapest.cpu.database),
      generator: per(cheapest.cpu.generator),
      balancer: per(cheapest.cpu.balancer),
    },
    serverShares: cheapest.cpu.perServer.map((v) => v / Math.max(1, cheapest.cpu.servers)),
  };
}

/** The instance the streams are held on, started beside the flow targets; it idles until its turn. */
function startStreamsServer(env: FleetEnv): Promise<Servers> {
  return startServers(["streams"], { ...env, extra: { ...env.extra, ...STREAM_SERVER_ENV } });
}

type Servers = Awaited<ReturnType<typeof startServers>>;

/** `count` streams on the instance (bench/lib/stream-load.ts), after trying to make room for their descriptors. */
function measureStreams(
  count: number,
  servers: Servers,
  databaseUrl: string,
  short: boolean,
): Promise<StreamLoadResult> {
  const { url, port } = servers.instances[0]!;
  const pid = servers.pids[0]!;
  for (const process_ of [process.pid, pid]) raiseDescriptorLimit(process_, count + 1_024);
  return measureStreamLoad(
    count,
    { url, port, pid, metricsToken: FLEET_METRICS_TOKEN, databaseUrl },
    {
      perSite: STREAMS_PER_SITE,
      powDifficulty: POW_DIFFICULTY,
      outcomesPerSite: short ? DELIVERY_ROUNDS_SHORT : 2,
      approvalsAtOnce: 2,
    },
  );
}

function skipped(reason: string, failUnderCi: boolean): BenchSection {
  console.warn(`[bench] backends: skipped, ${reason}`);
  const gates: BenchGate[] =
    failUnderCi && process.env.CI
      ? [{ name: `${reason} (required under CI)`, actual: 0, min: 1, unit: "present", inShortMode: true }]
      : [];
  return { name: "backends", runtime: `bun ${Bun.version}`, rows: [], gates };
}

export async function runBackendsBench(opts: BenchOptions): Promise<BenchSection> {
  if (!postgresAvailable) return skipped("PostgreSQL is not installed (apt-get install -y postgresql)", true);
  if (!procAvailable) return skipped("/proc is not readable (the CPU and memory figures need Linux)", false);
  const rounds = opts.short ? 2 : 4;
  const sliceMs = opts.short ? 1_500 : 5_000;
  // Full: the issue's 20,000 (fewer where the descriptor limit cannot be raised; the row says so).
  const streamCount = opts.short ? 200 : 20_000;
  const withRedis = !opts.short && redisServerPath !== null;

  const postgres: PostgresServer = await startPostgresServer();
  let redis: RedisServer | null = null;
  const targets: Target[] = [];
  let streamsServer: Servers | null = null;
  try {
    const [postmaster] = childrenMatching(
      (argv) => /(^|\/)postgres$/.test(argv[0] ?? "") && argv.includes(String(postgres.port)),
    );
    if (postmaster === undefined) throw new Error("the postmaster is not a child of this process");
    const env = (databaseUrl: string, redisUrl?: string): FleetEnv => ({
      databaseUrl,
      publicUrl: PUBLIC_URL,
      kek: kek(),
      extra: SERVER_ENV,
      ...(redisUrl && { redisUrl }),
    });
    if (withRedis) redis = await startRedisServer();
    const redisPids = redis ? childrenMatching((argv) => argv.join(" ").includes(`:${redis!.port}`)) : [];
    const streamsDatabase = await postgres.createDatabase();
    // Started together, to keep the short mode short; the streams instance idles until its turn.
    const starting = await Promise.allSettled([
      startStreamsServer(env(streamsDatabase)),
      startTarget("sqlite", 1, env(""), []),
      startTarget("postgres", 1, env(await postgres.createDatabase()), [postmaster]),
      startTarget("fleet", 3, env(await postgres.createDatabase()), [postmaster]),
      ...(redis
        ? [
            startTarget("fleetRedis", 3, env(await postgres.createDatabase(), redis.url), [
              postmaster,
              ...redisPids,
            ]),
          ]
        : []),
    ]);
    for (const result of starting) {
      if (result.status !== "fulfilled") continue;
      if ("key" in result.value) targets.push(result.value);
      else streamsServer = result.value;
    }
    const failed = starting.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;

    // Warm every path (JIT, signing key import, pools, page caches) at full concurrency first.
    for (const target of targets)
      await complete(opts.short ? 300 : 1_000, AGENTS, (loop) => target.flow(loop));
    const sign = await rsaSigner();

    const subjects: Record<string, () => Promise<FlowSlice | SigningSlice>> = {
      signing: () => signingSlice(sign, sliceMs / 2),
    };
    for (const target of targets) subjects[target.key] = () => flowSlice(target, sliceMs);
    const measured = await interleavedRounds(rounds, subjects);
    const signing = measured.signing as SigningSlice[];
    const signingPerSecond = bestRate(signing.map((s) => s.perSecond));
    const signingPerCpuSecond = bestRate(signing.map((s) => s.perCpuSecond));
    const signatureMs = 1000 / signingPerCpuSecond;
    const results = targets.map((t) => summarizeTarget(t.key, measured[t.key] as FlowSlice[]));

    for (const target of targets.splice(0)) await target.close();
    const streams = await measureStreams(streamCount, streamsServer!, streamsDatabase, opts.short);

    const rows: BenchRow[] = [
      {
        label: "RSA-2048 signing (WebCrypto, 1 loop)",
        value: signingPerSecond,
        unit: "signatures/s",
        note: `best of ${rounds} rounds`,
      },
      { label: "RSA-2048 CPU per signature", value: signatureMs, unit: "ms", note: "this process" },
    ];
    for (const r of results) {
      const label = LABELS[r.key];
      const shares =
        r.serverShares.length > 1
          ? `; split ${r.serverShares.map((s) => `${Math.round(s * 100)}%`).join("/")}`
          : "";
      rows.push(
        {
          label: `${label}: login flows`,
          value: r.perSecond,
          unit: "flows/s",
          note: `${AGENTS} agents, d=${POW_DIFFICULTY}, best of ${rounds} rounds`,
        },
        { label: `${label}: flow p50`, value: r.p50, unit: "ms", note: `${r.flows} flows` },
        { label: `${label}: flow p99`, value: r.p99, unit: "ms" },
        {
          label: `${label}: server CPU per flow`,
          value: r.msPerFlow.servers,
          unit: "ms",
          note: `= ${(r.msPerFlow.servers / signatureMs).toFixed(1)} signatures${shares}`,
        },
      );
      if (r.key !== "sqlite")
        rows.push({
          label: `${label}: database CPU per flow`,
          value: r.msPerFlow.database,
          unit: "ms",
          note: r.key === "fleetRedis" ? "PostgreSQL and Redis" : "PostgreSQL",
        });
      rows.push({
        label: `${label}: all CPU per flow`,
        value: r.msPerFlow.total,
        unit: "ms",
        note: `load generator ${r.msPerFlow.generator.toFixed(2)}${
          r.msPerFlow.balancer > 0 ? `, balancer ${r.msPerFlow.balancer.toFixed(2)}` : ""
        }`,
      });
    }
    const streamsPerSignature = streams.serverCpuMicrosPerDelivery / 1000 / signatureMs;
    rows.push(
      {
        label: "event streams held, 1 PostgreSQL instance",
        value: streams.heldByServer,
        unit: "streams",
        note: `${streams.opened}/${streams.attempted} opened in ${(streams.openMs / 1000).toFixed(1)} s${
          streams.limitedBy ? ` (${streams.requested} asked; ${streams.limitedBy})` : ""
        }`,
      },
      {
        label: "server RSS per held stream",
        value: streams.kibPerStream,
        unit: "KiB",
        note: `RSS ${(streams.rssBeforeKib / 1024).toFixed(1)} → ${(streams.rssAfterKib / 1024).toFixed(1)} MiB`,
      },
      {
        label: "outcomes delivered to held streams",
        value: streams.outcomesDelivered,
        unit: "outcomes",
        note: `of ${streams.outcomesExpected} (up to ${STREAMS_PER_SITE} streams a site)`,
      },
      { label: "delivery p50, approvals 2 sites at a time", value: streams.deliveryP50Ms, unit: "ms" },
      { label: "delivery p99, approvals 2 sites at a time", value: streams.deliveryP99Ms, unit: "ms" },
      {
        label: "delivery p99, one approval on every site at once",
        value: streams.burstP99Ms,
        unit: "ms",
        note: `p50 ${streams.burstP50Ms.toFixed(0)} ms; every held stream written at once`,
      },
      {
        label: "server CPU per delivered outcome",
        value: streams.serverCpuMicrosPerDelivery,
        unit: "µs",
        note: `= ${streamsPerSignature.toFixed(3)} signatures; approvals included`,
      },
      {
        label: "PostgreSQL transactions per delivered outcome",
        value: streams.transactionsPerDelivery,
        unit: "tx",
        note: "the approvals' own included",
      },
    );

    const byKey = new Map(results.map((r) => [r.key, r]));
    const sqliteTotal = byKey.get("sqlite")!.msPerFlow.total;
    const postgresTotal = byKey.get("postgres")!.msPerFlow.total;
    return {
      name: "backends",
      runtime: `bun ${Bun.version}, PostgreSQL ${await postgresVersion(postgres)}`,
      rows,
      gates: [
        {
          name: "outcomes delivered to every held stream",
          actual: streams.outcomesDelivered / Math.max(1, streams.outcomesExpected),
          min: 1,
          unit: "share",
          inShortMode: true,
        },
        // Database work per outcome delivered to a stream: a count, not a time. Before issue 13
        // every stream re-checked its token and marked the outcome delivered with queries of its
        // own: 1.3 transactions per delivery measured on 200 streams of one site. Shared per event,
        // the approval's own transactions are spread over the site's streams: 0.07.
        {
          name: "PostgreSQL transactions per delivered outcome",
          actual: streams.transactionsPerDelivery,
          max: DELIVERY_TRANSACTIONS_MAX,
          unit: "tx",
          inShortMode: true,
        },
        // Flows per CPU-second on one PostgreSQL instance (its CPU, PostgreSQL's and the load
        // generator's) against one SQLite instance, measured in the same rounds. It measured
        // 0.29-0.36 on a shared 2-core machine under a neighbour's load: a PostgreSQL flow costs about
        // three SQLite flows. The floor is half of that, so it trips on a PostgreSQL path that got
        // twice as costly (a query per row, a lost index), not on the machine's mood.
        {
          name: "PostgreSQL / SQLite flows per CPU-second",
          actual: sqliteTotal / postgresTotal,
          min: 0.15,
          unit: "ratio",
          inShortMode: true,
        },
      ],
    };
  } finally {
    for (const target of targets) await target.close();
    await streamsServer?.stop();
    await redis?.stop();
    await postgres.stop();
  }
}

async function postgresVersion(postgres: PostgresServer): Promise<string> {
  const sql = new Bun.SQL(postgres.url, { max: 1 });
  try {
    const [row] = await sql`SHOW server_version`;
    return String((row as { server_version: string }).server_version).split(" ")[0]!;
  } finally {
    await sql.close();
  }
}

if (import.meta.main) {
  const { formatSection } = await import("./lib/table.ts");
  const section = await runBackendsBench({ short: process.argv.includes("--short") });
  console.log(formatSection(section, () => true));
}
