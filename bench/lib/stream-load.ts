/**
 * Many event streams held on one server instance, and what they cost it
 * (issue 13: 20,000 streams, every outcome delivered, p99 delivery under
 * 250 ms, under 10 KiB per stream).
 *
 * The streams are spread over owners (one site each, `perSite` streams per
 * site: the server caps streams per owner at 256). The server's resident set
 * is read before and after they open. Then every site gets `outcomesPerSite`
 * approvals, `approvalsAtOnce` sites at a time (a steady flow of logins,
 * each to a site with hundreds of streams), and finally one approval on
 * every site at once (a burst: every stream written at the same moment).
 * Every stream of a site must receive each of its outcomes. A delivery's latency runs from the moment the approval was
 * sent (its proof of work already solved) to the moment the outcome was
 * parsed here, so it includes this process's own share of the two cores.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createLoginRequest, loginFlow, openSiteStream, provisionOwner, solveAndApprove } from "./flows.ts";
import { percentile } from "./histogram.ts";
import { rssKib, treeCpuMicros } from "./proc.ts";
import { openRawStream, type RawStream } from "./raw-streams.ts";

/** Streams one owner may hold (the server's MAX_STREAMS_PER_OWNER is 256): the streams are spread over owners. */
export const STREAMS_PER_SITE = 250;

/** On top of test/server/postgres/fleet.ts's environment: no access log, the default keepalive. */
export const STREAM_SERVER_ENV: Record<string, string> = {
  ACCESS_LOG: "off",
  DEFAULT_POW_DIFFICULTY: "8",
  SSE_KEEPALIVE_SECONDS: "15",
  SSE_MAX_STREAMS_PER_SITE: String(STREAMS_PER_SITE),
};
/** Streams opened at once, each batch answered before the next: a burst of reconnects, not a flood. */
const OPEN_BATCH = 200;
/** Descriptors a process keeps beside its streams (database pools, pipes, the listener, this bench's fetches). */
const DESCRIPTOR_RESERVE = 250;
/** How long a batch of streams may take to open before the rest of it counts as not opened. */
const OPEN_DEADLINE_MS = 30_000;
const STATS_FLUSH_MS = 1_500;
const SETTLE_SAMPLES = 10;
const SETTLE_INTERVAL_MS = 500;
/** How long the last delivery of a round may take before its streams count as not delivered. */
const DELIVERY_DEADLINE_MS = 30_000;

export interface StreamServer {
  url: string;
  port: number;
  pid: number;
  metricsToken: string;
  /** The instance's PostgreSQL database, to count its transactions; null on SQLite. */
  databaseUrl: string | null;
}

export interface StreamLoadOptions {
  /** Streams per site (and per owner); at most the server's per-owner and per-site caps. */
  perSite: number;
  powDifficulty: number;
  /** Paced approvals per site; each must reach every stream of the site. */
  outcomesPerSite: number;
  /** Sites approved at once in the paced rounds (then one burst on every site). */
  approvalsAtOnce: number;
  /** Told how far the run got (a long run otherwise says nothing for a minute). */
  progress?: (line: string) => void;
}

export interface StreamLoadResult {
  requested: number;
  /** Streams tried: `requested`, or fewer when a descriptor limit leaves no room (`limitedBy`). */
  attempted: number;
  limitedBy: string | null;
  opened: number;
  /** `lime_event_streams_open` once every stream was answered. */
  heldByServer: number;
  openMs: number;
  rssBeforeKib: number;
  rssAfterKib: number;
  kibPerStream: number;
  /** Every attempted stream, once per paced round and once in the burst. */
  outcomesExpected: number;
  outcomesDelivered: number;
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  deliveryMaxMs: number;
  /** Server CPU time per paced delivery (approvals, their re-checks and writes included). */
  serverCpuMicrosPerDelivery: number;
  /**
   * PostgreSQL transactions (each query outside one is one) per paced
   * delivery, the approvals' own included; NaN on SQLite. A delivery that
   * cost a query of its own would make it 1 or more.
   */
  transactionsPerDelivery: number;
  /** One approval on every site at once: every stream written at the same moment. */
  burstP50Ms: number;
  burstP99Ms: number;
}

/** The soft limit on open files of `pid`. */
export function descriptorLimit(pid: number): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  return match?.[1] === undefined || match[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/**
 * Raises the descriptor limit of a running process (ours or the server's) with
 * `prlimit`: 20,000 sockets need more than the usual 20,000 descriptors once
 * the rest of the process is counted. Needs root or CAP_SYS_RESOURCE to go above
 * the hard limit; returns false when it could not.
 */
export function raiseDescriptorLimit(pid: number, limit: number): boolean {
  const result = spawnSync("prlimit", [`--pid=${pid}`, `--nofile=${limit}:${limit}`]);
  return result.status === 0;
}

export async function openStreamsMetric(url: string, metricsToken: string): Promise<number> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  const match = /^lime_event_streams_open (\d+)$/m.exec(await response.text());
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * The server's resident set once the garbage of opening the streams (requests,
 * headers, queries) is collected: its lowest reading over a few seconds, so
 * the figure is what the streams hold and not when the collector last ran.
 */
async function settledRssKib(pid: number): Promise<number> {
  let lowest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < SETTLE_SAMPLES; i++) {
    await Bun.sleep(SETTLE_INTERVAL_MS);
    lowest = Math.min(lowest, rssKib(pid));
  }
  return lowest;
}

/** Transactions committed or rolled back in the database so far (pg_stat_database); NaN without one. */
async function databaseTransactions(databaseUrl: string | null): Promise<number> {
  if (databaseUrl === null) return Number.NaN;
  const sql = new Bun.SQL(databaseUrl, { max: 1 });
  try {
    const [row] = await sql`
      SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`;
    return Number((row as { n: number | string }).n);
  } finally {
    await sql.close();
  }
}

/** Resolves once `done()` holds or `deadlineMs` passed, polling: 20,000 promises per round would weigh on the figure. */
async function waitUntil(done: () => boolean, deadlineMs: number): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (!done() && performance.now() < until) await Bun.sleep(5);
}

export async function measureStreamLoad(
  count: number,
  server: StreamServer,
  options: StreamLoadOptions,
): Promise<StreamLoadResult> {
  const { url, port, pid, metricsToken } = server;
  const requested = count;
  // A stream is a descriptor on either side; past the limit the server stops accepting and the
  // connection waits in its backlog. Where the limit cannot be raised (no CAP_SYS_RESOURCE), hold
  // as many as it allows and say so.
  const room = Math.min(descriptorLimit(pid), descriptorLimit(process.pid)) - DESCRIPTOR_RESERVE;
  const limitedBy = room < count ? `descriptor limit ${room + DESCRIPTOR_RESERVE}` : null;
  count = Math.min(count, room);
  const owners = Math.ceil(count / options.perSite);
  const streams: { site: number; stream: RawStream }[] = [];
  try {
    const sites = await Promise.all(
      Array.from({ length: owners }, () => provisionOwner(url, { powDifficulty: options.powDifficulty })),
    );
    // Warm the stream and outcome paths once, then let the server settle before the baseline.
    const warm = openSiteStream(url, sites[0]!.siteTokens[0]!);
    await warm.ready;
    await loginFlow(url, sites[0]!.siteTokens[0]!, sites[0]!.agentTokens[0]!, warm);
    warm.close();
    for (let i = 0; i < 50 && (await openStreamsMetric(url, metricsToken)) !== 0; i++) await Bun.sleep(100);
    const rssBeforeKib = await settledRssKib(pid);

    const openStarted = performance.now();
    for (let start = 0; start < count; start += OPEN_BATCH) {
      const batch = Array.from({ length: Math.min(OPEN_BATCH, count - start) }, (_, i) => {
        const site = (start + i) % owners;
        return { site, stream: openRawStream(port, sites[site]!.siteTokens[0]!) };
      });
      streams.push(...batch);
      await Promise.race([
        Promise.all(batch.map((s) => s.stream.opened.catch(() => 0))),
        Bun.sleep(OPEN_DEADLINE_MS),
      ]);
      if (streams.length % 2_000 === 0) {
        options.progress?.(
          `${streams.length} streams opened in ${Math.round(performance.now() - openStarted)} ms`,
        );
      }
    }
    const statuses = streams.map((s) => s.stream.status);
    const openMs = performance.now() - openStarted;
    const opened = statuses.filter((s) => s === 200).length;
    const heldByServer = await openStreamsMetric(url, metricsToken);
    const rssAfterKib = await settledRssKib(pid);

    const bySite = Array.from({ length: owners }, () => [] as RawStream[]);
    for (const { site, stream } of streams) if (stream.status === 200) bySite[site]!.push(stream);
    /** Approves one request on each of `siteIndices` at once; the latency of every delivery, or null if missing. */
    const deliver = async (siteIndices: number[]): Promise<(number | null)[]> => {
      const requests = await Promise.all(
        siteIndices.map((site) => createLoginRequest(url, sites[site]!.siteTokens[0]!)),
      );
      const sent = await Promise.all(
        siteIndices.map((site, i) => solveAndApprove(url, requests[i]!, sites[site]!.agentTokens[0]!)),
      );
      const waited = siteIndices.map((site, i) => ({ streams: bySite[site]!, requestId: requests[i]! }));
      await waitUntil(
        () => waited.every(({ streams, requestId }) => streams.every((s) => s.arrivals.has(requestId))),
        DELIVERY_DEADLINE_MS,
      );
      return waited.flatMap(({ streams, requestId }, i) =>
        streams.map((stream) => {
          const arrived = stream.arrivals.get(requestId);
          return arrived === undefined ? null : arrived - sent[i]!;
        }),
      );
    };
    const cpuBefore = treeCpuMicros([pid]);
    const transactionsBefore = await databaseTransactions(server.databaseUrl);
    // Paced: `approvalsAtOnce` sites at a time, each approval reaching all of its site's streams.
    const paced: (number | null)[] = [];
    for (let round = 0; round < options.outcomesPerSite; round++) {
      for (let first = 0; first < owners; first += options.approvalsAtOnce) {
        const chunk = Array.from(
          { length: Math.min(options.approvalsAtOnce, owners - first) },
          (_, i) => first + i,
        );
        paced.push(...(await deliver(chunk)));
      }
      options.progress?.(`round ${round + 1} of paced approvals delivered`);
    }
    const serverCpuMicros = treeCpuMicros([pid]) - cpuBefore;
    // A backend reports its counts when it goes idle, at most once a second.
    if (server.databaseUrl !== null) await Bun.sleep(STATS_FLUSH_MS);
    const transactions = (await databaseTransactions(server.databaseUrl)) - transactionsBefore;
    // Burst: every site at once, so every held stream gets an outcome at the same moment.
    const burst = await deliver(sites.map((_, site) => site));
    options.progress?.("burst delivered");
    const latencies = paced.filter((l): l is number => l !== null);
    const burstLatencies = burst.filter((l): l is number => l !== null).sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    return {
      requested,
      attempted: count,
      limitedBy,
      opened,
      heldByServer,
      openMs,
      rssBeforeKib,
      rssAfterKib,
      kibPerStream: (rssAfterKib - rssBeforeKib) / Math.max(1, opened),
      outcomesExpected: count * (options.outcomesPerSite + 1),
      outcomesDelivered: latencies.length + burstLatencies.length,
      serverCpuMicrosPerDelivery: serverCpuMicros / Math.max(1, latencies.length),
      transactionsPerDelivery: transactions / Math.max(1, latencies.length),
      deliveryP50Ms: percentile(latencies, 50),
      deliveryP99Ms: percentile(latencies, 99),
      deliveryMaxMs: latencies.at(-1) ?? Number.NaN,
      burstP50Ms: percentile(burstLatencies, 50),
      burstP99Ms: percentile(burstLatencies, 99),
    };
  } finally {
    for (const { stream } of streams) stream.close();
  }
}
