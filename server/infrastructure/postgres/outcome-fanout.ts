import type { Clock } from "../../clock.ts";
import type { AgentLoginStore, OutcomeEvent, OutcomeFanout } from "../../modules/agent-login/store.ts";
import type { Logger } from "../logger.ts";
import { createSiteListeners } from "../memory/outcome-fanout.ts";
import type { Sql } from "./connection.ts";

export interface PostgresOutcomeFanoutOptions {
  /** The pool: sends notifications. */
  sql: Sql;
  /**
   * A client of its own for LISTEN (Bun's client keeps one dedicated
   * connection for it, reconnects it with backoff and re-subscribes).
   */
  listener: Sql;
  /** Where outcomes are read back: the shared SQL store, the source of truth. */
  events: Pick<AgentLoginStore, "eventsAfter" | "undeliveredEvents">;
  clock: Clock;
  logger: Logger;
  /** Default `lime_agent_login_outcomes`. */
  channel?: string;
  /** Notifications kept for re-sending while the database is unreachable (default 1000). */
  maxPending?: number;
}

export interface PostgresOutcomeFanout extends OutcomeFanout {
  /** Stops listening; the pools stay open (their owner closes them). */
  close(): Promise<void>;
}

interface Notification {
  v: 1;
  origin: string;
  site_id: string;
  event_id: number;
}

function parseNotification(message: string): Notification | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const n = value as Record<string, unknown>;
  if (n.v !== 1 || typeof n.origin !== "string" || typeof n.site_id !== "string") return null;
  if (n.site_id.length === 0 || n.site_id.length > 64) return null;
  if (typeof n.event_id !== "number" || !Number.isSafeInteger(n.event_id) || n.event_id < 1) return null;
  return n as unknown as Notification;
}

/**
 * Fan-out of login outcomes across instances with PostgreSQL's LISTEN/NOTIFY,
 * so a fleet needs nothing but its database; with `REDIS_URL` the Redis
 * fan-out takes this over (docs/decisions/server-postgres.md).
 *
 * The same contract as the Redis fan-out: the notification carries only
 * `{site_id, event_id}` (never the passport), the receiving instance reads
 * the event back from the store, where it committed before it was
 * announced, and streams drop duplicates by id. Outcomes published here
 * reach this instance's streams directly; the echo is ignored.
 *
 * Gaps are closed from the store. A notification that could not be sent
 * (the database away, or a pooled connection that died with it) is kept,
 * bounded, and sent again on a backoff timer and before the next one.
 * The LISTEN connection is re-established by the client after any drop, and
 * `onlisten` then replays every undelivered outcome of each site with a
 * stream here: what was announced while this instance was deaf.
 */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

export async function createPostgresOutcomeFanout(
  options: PostgresOutcomeFanoutOptions,
): Promise<PostgresOutcomeFanout> {
  const { sql, listener, events, clock, logger } = options;
  const channel = options.channel ?? "lime_agent_login_outcomes";
  const maxPending = options.maxPending ?? 1000;
  const origin = crypto.randomUUID();
  const local = createSiteListeners((error, event) =>
    logger.error("an outcome listener failed", { site_id: event.siteId, error: String(error) }),
  );
  let pending: string[] = [];
  let retry: ReturnType<typeof setTimeout> | undefined;
  let retryDelayMs = RETRY_MIN_MS;
  let closed = false;
  let listens = 0;
  // Reads run one after another, so streams see outcomes in the order the notifications arrived.
  let reads: Promise<void> = Promise.resolve();
  let warnedMalformed = false;

  const readThen = (what: string, siteId: string, read: () => Promise<OutcomeEvent[]>) => {
    reads = reads.then(async () => {
      if (!local.has(siteId)) return;
      try {
        for (const event of await read()) local.dispatch(event);
      } catch (error) {
        logger.error(`could not read outcomes (${what})`, { site_id: siteId, error: String(error) });
      }
    });
  };

  const onNotify = (message: string) => {
    const notification = parseNotification(message);
    if (notification === null) {
      if (!warnedMalformed) {
        warnedMalformed = true;
        logger.warn("ignoring a malformed outcome notification", { channel });
      }
      return;
    }
    if (notification.origin === origin || !local.has(notification.site_id)) return;
    const { site_id: siteId, event_id: eventId } = notification;
    readThen("notification", siteId, async () =>
      (await events.eventsAfter(siteId, eventId - 1, clock.now())).filter((e) => e.id === eventId),
    );
  };

  const onListen = () => {
    listens += 1;
    if (closed || listens === 1) return;
    logger.info("listening for outcome notifications again; replaying what may have been missed");
    const now = clock.now();
    for (const siteId of local.siteIds()) {
      readThen("relistened", siteId, () => events.undeliveredEvents(siteId, now));
    }
  };

  const send = async (message: string): Promise<boolean> => {
    try {
      await sql`SELECT pg_notify(${channel}, ${message})`;
      return true;
    } catch {
      return false;
    }
  };

  /**
   * Sends what was kept once the database answers again. Not only before the
   * next publish: after a restart the pool's first queries fail on dead
   * connections, and an approval with no successor would wait for one.
   */
  const scheduleRetry = () => {
    if (retry !== undefined || closed) return;
    retry = setTimeout(async () => {
      retry = undefined;
      if (await flushPending()) {
        retryDelayMs = RETRY_MIN_MS;
        logger.info("outcome notifications sent again");
      } else {
        retryDelayMs = Math.min(retryDelayMs * 2, RETRY_MAX_MS);
        scheduleRetry();
      }
    }, retryDelayMs);
    retry.unref?.();
  };

  const keep = (message: string) => {
    if (pending.length === 0)
      logger.warn("an outcome notification could not be sent; retrying until the database answers");
    pending.push(message);
    scheduleRetry();
    if (pending.length > maxPending) {
      pending = pending.slice(-maxPending);
      logger.warn(
        "outcome notifications dropped while the database is unreachable; sites get them on reconnect",
        {
          kept: maxPending,
        },
      );
    }
  };

  const flushPending = async (): Promise<boolean> => {
    const queued = pending;
    pending = [];
    for (const [index, message] of queued.entries()) {
      if (!(await send(message))) {
        pending = [...queued.slice(index), ...pending];
        return false;
      }
    }
    return true;
  };

  const subscription = await listener.listen(channel, onNotify, onListen);

  return {
    publish(event) {
      local.dispatch(event);
      const message = JSON.stringify({ v: 1, origin, site_id: event.siteId, event_id: event.id });
      const publishing =
        pending.length > 0
          ? flushPending().then((flushed) => (flushed ? send(message) : false))
          : send(message);
      void publishing.then((sent) => {
        if (!sent) keep(message);
      });
    },
    subscribe: local.subscribe,
    async close() {
      closed = true;
      clearTimeout(retry);
      local.clear();
      await reads;
      await subscription.unlisten().catch(() => {});
    },
  };
}
