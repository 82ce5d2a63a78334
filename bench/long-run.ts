/**
 * The long run (issue 13): does the server's tail grow with its own history?
 *
 * One `bun server/main.ts` instance per backend (SQLite, then PostgreSQL on a
 * private server from `initdb`, `fsync=off`), started as an operator starts
 * one (test/server/postgres/fleet.ts) with `ACCESS_LOG=off`, serves complete
 * login flows, PoW difficulty 8, from 32 concurrent agents in this process
 * (bench/lib/flows.ts: create → challenge → solve → approve → the outcome on
 * the site's SSE stream), `--flows` of them (default 200,000). Nothing is
 * purged from login_requests for 65 minutes (event retention + request
 * lifetime), so the table grows by every flow for the whole run, as it did
 * when the issue measured p99 rising from 31 to 73 ms over 56,000 flows.
 *
 * Per window of `--window` flows (default 20,000) it prints the flows' p50
 * and p99 latency, the rate, the rows in login_requests, and the duration of
 * the server's own maintenance purges in that window (median and max, read
 * from its `maintenance purge` debug log lines, LIME_LOG_LEVEL=debug). On
 * SQLite it also times, once per window and from this process, the purge's
 * statements as they were before docs/decisions/purge-and-indexes.md, on the
 * server's own file (they change nothing by then: the server purged it): the
 * cost the old purge would have had at that history. The verdict is the ratio
 * of the last window's p99 to the first's.
 *
 * `--seed-history N` first inserts N rows of history straight into the
 * tables (requests created within the retention, delivered, passport
 * lapsed), for a shorter live run over a long history; it is off by default
 * and the output says when it was used.
 *
 * No gate: `bun bench/run.ts --long` (or `bun bench/long-run.ts`) runs it on
 * demand; it takes tens of minutes.
 */
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type FleetEnv, type FleetInstance, startInstance } from "../test/server/postgres/fleet.ts";
import {
  type PostgresServer,
  postgresAvailable,
  startPostgresServer,
} from "../test/server/postgres/postgres-server.ts";
import { complete, loginFlow, openSiteStream, provisionOwner } from "./lib/flows.ts";
import { percentile } from "./lib/histogram.ts";
import type { BenchOptions, BenchRow, BenchSection } from "./lib/types.ts";

const POW_DIFFICULTY = 8;
const AGENTS = 32;

export interface LongRunOptions extends BenchOptions {
  flows: number;
  window: number;
  backends: Array<"sqlite" | "postgres">;
  seedHistory: number;
}

interface WindowResult {
  index: number;
  flows: number;
  perSecond: number;
  p50: number;
  p99: number;
  rows: number;
  purgeRuns: number;
  purgeMedianMs: number;
  purgeMaxMs: number;
  /** SQLite only: the pre-fix purge statements timed on the same file, in ms. */
  oldPurgeMs: number | null;
}

function kek(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/**
 * The purge's statements before migration 10 and the bounded batches, as the issue measured them.
 * `NOT INDEXED` keeps SQLite off the indexes migration 10 added, which the old schema did not have:
 * the passport UPDATE scanned login_requests, the NOT IN read login_outcomes whole.
 */
const OLD_SQLITE_PURGE: Array<[sql: string, cutOff: "now" | "requests"]> = [
  ["DELETE FROM login_outcomes WHERE expires_at <= ?", "now"],
  [
    "UPDATE login_requests NOT INDEXED SET passport_jwt = NULL WHERE passport_jwt IS NOT NULL AND passport_expires_at <= ?",
    "now",
  ],
  [
    `DELETE FROM login_requests WHERE created_at < ?
     AND id NOT IN (SELECT login_request_id FROM login_outcomes NOT INDEXED WHERE login_request_id IS NOT NULL)`,
    "requests",
  ],
];

function oldSqlitePurgeMs(file: string): number {
  const db = new Database(file);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const now = Date.now();
    const started = performance.now();
    db.transaction(() => {
      for (const [text, cutOff] of OLD_SQLITE_PURGE)
        db.query(text).run(cutOff === "now" ? now : now - 65 * 60_000);
    }).immediate();
    return performance.now() - started;
  } finally {
    db.close();
  }
}

/** Purge durations the server logged since `from` (its `maintenance purge` debug lines). */
function purgesSince(instance: FleetInstance, from: number): number[] {
  const durations: number[] = [];
  for (const line of instance.logs.slice(from)) {
    if (!line.includes('"maintenance purge"')) continue;
    try {
      const entry = JSON.parse(line) as { purge_ms?: number };
      if (typeof entry.purge_ms === "number") durations.push(entry.purge_ms);
    } catch {}
  }
  return durations;
}

/** N rows of history (delivered requests, passports lapsed) inserted straight into the tables. */
async function seedHistory(
  count: number,
  target: { file: string } | { url: string },
  siteId: string,
): Promise<void> {
  if (count === 0) return;
  const now = Date.now();
  const start = now - 30 * 60_000;
  if ("file" in target) {
    const db = new Database(target.file);
    db.exec("PRAGMA busy_timeout = 5000");
    const insert = db.query(
      `INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, created_at, expires_at,
         approved_agent_id, approved_at, passport_jwt, passport_expires_at, delivered_at)
       VALUES (?1, ?2, 'DELIVERED', 'ab', 8, ?3, ?3 + 300000, NULL, ?3, NULL, ?3 + 120000, ?3)`,
    );
    db.transaction(() => {
      for (let i = 0; i < count; i++)
        insert.run(`seed-${i}`, siteId, start + Math.floor((i * 25 * 60_000) / count));
    }).immediate();
    db.close();
    return;
  }
  const sql = new Bun.SQL(target.url, { max: 1 });
  try {
    await sql`
      INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, created_at, expires_at,
        approved_agent_id, approved_at, passport_jwt, passport_expires_at, delivered_at)
      SELECT 'seed-' || i, ${siteId}, 'DELIVERED', 'ab', 8, c, c + 300000, NULL, c, NULL, c + 120000, c
      FROM (SELECT i, ${start}::bigint + (i::bigint * 1500000 / ${count}) AS c FROM generate_series(0, ${count - 1}) AS i) s`;
    await sql`ANALYZE login_requests`;
  } finally {
    await sql.close();
  }
}

async function rowCount(target: { file: string } | { url: string }): Promise<number> {
  if ("file" in target) {
    const db = new Database(target.file, { readonly: true });
    try {
      return db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM login_requests").get()!.n;
    } finally {
      db.close();
    }
  }
  const sql = new Bun.SQL(target.url, { max: 1 });
  try {
    const rows: Array<{ n: number }> = await sql`SELECT count(*)::int AS n FROM login_requests`;
    return rows[0]!.n;
  } finally {
    await sql.close();
  }
}

async function siteIdOf(target: { file: string } | { url: string }): Promise<string> {
  if ("file" in target) {
    const db = new Database(target.file, { readonly: true });
    try {
      return db.query<{ id: string }, []>("SELECT id FROM sites LIMIT 1").get()!.id;
    } finally {
      db.close();
    }
  }
  const sql = new Bun.SQL(target.url, { max: 1 });
  try {
    const rows: Array<{ id: string }> = await sql`SELECT id FROM sites LIMIT 1`;
    return rows[0]!.id;
  } finally {
    await sql.close();
  }
}

async function runBackend(
  backend: "sqlite" | "postgres",
  opts: LongRunOptions,
  postgres: PostgresServer | null,
): Promise<WindowResult[]> {
  const databaseUrl = backend === "postgres" ? await postgres!.createDatabase() : "";
  const env: FleetEnv = {
    databaseUrl,
    publicUrl: "http://lime-bench.invalid",
    kek: kek(),
    extra: {
      ACCESS_LOG: "off",
      DEFAULT_POW_DIFFICULTY: String(POW_DIFFICULTY),
      SSE_KEEPALIVE_SECONDS: "15",
      LIME_LOG_LEVEL: "debug",
    },
  };
  const instance = await startInstance(`long-${backend}`, env, 60_000);
  const file = backend === "sqlite" ? join(instance.cwd, "data", "lime.sqlite") : null;
  const target: { file: string } | { url: string } = file === null ? { url: databaseUrl } : { file };
  try {
    const owner = await provisionOwner(instance.url, { agents: AGENTS, powDifficulty: POW_DIFFICULTY });
    const siteToken = owner.siteTokens[0]!;
    const stream = openSiteStream(instance.url, siteToken);
    await stream.ready;
    const flow = (loop: number) =>
      loginFlow(instance.url, siteToken, owner.agentTokens[loop % AGENTS]!, stream);
    await seedHistory(opts.seedHistory, target, await siteIdOf(target));
    // Warm every path (JIT, signing key import, pools) before the first window.
    await complete(3_000, AGENTS, flow);

    const results: WindowResult[] = [];
    let started = 0;
    let logMark = instance.logs.length;
    while (started < opts.flows) {
      const windowFlows = Math.min(opts.window, opts.flows - started);
      const latencies: number[] = [];
      let issued = 0;
      const begun = performance.now();
      await Promise.all(
        Array.from({ length: AGENTS }, async (_, loop) => {
          while (issued < windowFlows) {
            issued++;
            const t = performance.now();
            await flow(loop);
            latencies.push(performance.now() - t);
          }
        }),
      );
      const elapsed = performance.now() - begun;
      started += windowFlows;
      const purges = purgesSince(instance, logMark).sort((a, b) => a - b);
      logMark = instance.logs.length;
      latencies.sort((a, b) => a - b);
      const result: WindowResult = {
        index: results.length,
        flows: latencies.length,
        perSecond: latencies.length / (elapsed / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        rows: await rowCount(target),
        purgeRuns: purges.length,
        purgeMedianMs: purges.length ? percentile(purges, 50) : Number.NaN,
        purgeMaxMs: purges.length ? purges.at(-1)! : Number.NaN,
        oldPurgeMs: file === null ? null : oldSqlitePurgeMs(file),
      };
      results.push(result);
      console.log(
        `[long-run] ${backend} window ${result.index + 1}: ${started} flows, ${result.perSecond.toFixed(0)}/s, ` +
          `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ${result.rows} requests kept, ` +
          `purge ${result.purgeRuns} runs median ${result.purgeMedianMs.toFixed(2)} ms max ${result.purgeMaxMs.toFixed(1)} ms` +
          (result.oldPurgeMs === null ? "" : `, old purge statements ${result.oldPurgeMs.toFixed(1)} ms`),
      );
    }
    stream.close();
    return results;
  } finally {
    await instance.kill("SIGTERM");
    rmSync(instance.cwd, { recursive: true, force: true });
  }
}

export async function runLongRunBench(opts: LongRunOptions): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  let postgres: PostgresServer | null = null;
  try {
    for (const backend of opts.backends) {
      if (backend === "postgres" && !postgresAvailable) {
        rows.push({
          label: "PostgreSQL",
          value: Number.NaN,
          unit: "",
          note: "skipped: initdb not installed",
        });
        continue;
      }
      if (backend === "postgres") postgres ??= await startPostgresServer();
      const windows = await runBackend(backend, opts, postgres);
      const first = windows[0]!;
      const last = windows.at(-1)!;
      const seeded = opts.seedHistory ? ` after ${opts.seedHistory} seeded rows` : "";
      for (const w of windows)
        rows.push({
          label: `${backend} window ${w.index + 1} p99`,
          value: w.p99,
          unit: "ms",
          note:
            `p50 ${w.p50.toFixed(1)} ms, ${w.perSecond.toFixed(0)} flows/s, ${w.rows} requests kept, ` +
            `purge median ${w.purgeMedianMs.toFixed(2)} ms max ${w.purgeMaxMs.toFixed(1)} ms (${w.purgeRuns} runs)` +
            (w.oldPurgeMs === null ? "" : `, old statements ${w.oldPurgeMs.toFixed(1)} ms`),
        });
      rows.push({
        label: `${backend}: last-window p99 / first-window p99`,
        value: last.p99 / first.p99,
        unit: "x",
        note: `${windows.reduce((n, w) => n + w.flows, 0)} flows in windows of ${opts.window}${seeded}`,
      });
    }
  } finally {
    await postgres?.stop();
  }
  return { name: "long-run", runtime: `bun ${Bun.version}`, rows, gates: [] };
}

/** `--flows N`, `--window N`, `--backends sqlite,postgres`, `--seed-history N` from the command line. */
export function longRunOptions(argv: readonly string[], base: BenchOptions): LongRunOptions {
  const value = (name: string) => {
    const inline = argv.find((a) => a.startsWith(`--${name}=`));
    if (inline) return inline.slice(name.length + 3);
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const number = (name: string, fallback: number) => {
    const raw = value(name);
    const parsed = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`--${name} takes a whole number`);
    return parsed;
  };
  const backends = (value("backends") ?? "sqlite,postgres").split(",") as LongRunOptions["backends"];
  const window = number("window", 20_000);
  return {
    ...base,
    flows: number("flows", 200_000),
    window: window || 20_000,
    backends,
    seedHistory: number("seed-history", 0),
  };
}

if (import.meta.main) {
  const { formatSection } = await import("./lib/table.ts");
  const section = await runLongRunBench(longRunOptions(process.argv.slice(2), { short: false }));
  console.log(formatSection(section, () => true));
  process.exit(0);
}
