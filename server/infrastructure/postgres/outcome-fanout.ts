import type { Clock } from "../../clock.ts";
import type { AgentLoginStore, OutcomeFanout } from "../../modules/agent-login/store.ts";
import type { Logger } from "../logger.ts";
import { createOutcomeNotifier } from "../outcome-notifier.ts";
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

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * Fan-out of login outcomes across instances with PostgreSQL's LISTEN/NOTIFY,
 * so a fleet needs nothing but its database; with `REDIS_URL` the Redis
 * fan-out takes this over (docs/decisions/server-postgres.md). What a
 * notification carries and how gaps are closed is shared with the Redis
 * fan-out (server/infrastructure/outcome-notifier.ts).
 *
 * Two things are PostgreSQL's own. The LISTEN connection is re-established
 * by the client after any drop, and `onlisten` then replays every
 * undelivered outcome of each site with a stream here: what was announced
 * while this instance was deaf. And a notification that could not be sent
 * is retried on a backoff timer, not only before the next publish: after a
 * database restart the pool's first queries can fail on connections that
 * died with it, and an approval with no successor would otherwise wait.
 *
 * @example
 * const fanout = await createPostgresOutcomeFanout({ sql, listener, events: stores.agentLogin, clock, logger });
 */
export async function createPostgresOutcomeFanout(
  options: PostgresOutcomeFanoutOptions,
): Promise<PostgresOutcomeFanout> {
  const { sql, listener, logger } = options;
  const channel = options.channel ?? "lime_agent_login_outcomes";
  let closed = false;
  let listens = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let retryDelayMs = RETRY_MIN_MS;

  const scheduleRetry = () => {
    if (retry !== undefined || closed) return;
    if (retryDelayMs === RETRY_MIN_MS) {
      logger.warn("an outcome notification could not be sent; retrying until the database answers");
    }
    retry = setTimeout(async () => {
      retry = undefined;
      if (await notifier.flushPending()) {
        retryDelayMs = RETRY_MIN_MS;
        logger.info("outcome notifications sent again");
      } else {
        retryDelayMs = Math.min(retryDelayMs * 2, RETRY_MAX_MS);
        scheduleRetry();
      }
    }, retryDelayMs);
    retry.unref?.();
  };

  const notifier = createOutcomeNotifier({
    events: options.events,
    clock: options.clock,
    logger,
    transport: "PostgreSQL",
    maxPending: options.maxPending,
    async send(message) {
      try {
        await sql`SELECT pg_notify(${channel}, ${message})`;
        return true;
      } catch {
        return false;
      }
    },
    onKept: scheduleRetry,
  });

  const onListen = () => {
    listens += 1;
    if (closed || listens === 1) return;
    logger.info("listening for outcome notifications again; replaying what may have been missed");
    notifier.replayUndelivered("relistened");
  };
  const subscription = await listener.listen(channel, notifier.hear, onListen);

  return {
    publish: notifier.publish,
    subscribe: notifier.subscribe,
    async close() {
      closed = true;
      clearTimeout(retry);
      await notifier.close();
      await subscription.unlisten().catch(() => {});
    },
  };
}
