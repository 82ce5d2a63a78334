/**
 * The part of a cross-instance outcome fan-out that does not depend on the
 * transport (Redis pub/sub, PostgreSQL LISTEN/NOTIFY): what a notification
 * says, how one heard is turned into outcomes, and how gaps are closed.
 *
 * A notification carries `{v, origin, site_id, event_id}` only, never the
 * event: an `approved` outcome holds a live site-login passport, a bearer
 * credential that has no business on the wire between instances, and the
 * receiving instance reads the event back from the shared SQL store, where
 * it committed before it was announced. So a forged notification can at
 * most make an instance re-read a real outcome of that site, which the
 * stream drops as a duplicate.
 *
 * Outcomes published on this instance reach its own streams directly and
 * synchronously, whatever the transport's state; the echo is ignored. A
 * notification that could not be sent is kept (bounded) and sent again
 * before the next one, or when the transport says it is back. When the
 * listening side comes back, every site with a stream here gets its
 * undelivered outcomes replayed from the store. Streams drop duplicates by id.
 */

import type { Clock } from "../clock.ts";
import type { AgentLoginStore, OutcomeEvent, OutcomeFanout } from "../modules/agent-login/store.ts";
import type { Logger } from "./logger.ts";
import { createSiteListeners } from "./memory/outcome-fanout.ts";

interface Notification {
  v: 1;
  origin: string;
  site_id: string;
  event_id: number;
}

export function parseNotification(message: string): Notification | null {
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

export interface OutcomeNotifierOptions {
  /** Where outcomes are read back: the shared SQL store, the source of truth. */
  events: Pick<AgentLoginStore, "eventsAfter" | "undeliveredEvents">;
  clock: Clock;
  logger: Logger;
  /** Sends one notification; `false` when it could not be sent (it is then kept). */
  send(message: string): Promise<boolean>;
  /** Names the transport in log lines: "Redis", "PostgreSQL". */
  transport: string;
  /** Notifications kept while the transport is unreachable (default 1000). */
  maxPending?: number;
  /** Told when a notification is kept, so the transport can schedule a retry of its own. */
  onKept?(): void;
}

export interface OutcomeNotifier extends OutcomeFanout {
  /** Handles one message heard on the channel. */
  hear(message: string): void;
  /** Replays the undelivered outcomes of every site with a listener here (after the listener reconnected). */
  replayUndelivered(reason: string): void;
  /** Sends what was kept, in order; `false` when a send failed (the rest stays kept). */
  flushPending(): Promise<boolean>;
  /** Drops the listeners and waits for reads in flight. */
  close(): Promise<void>;
}

export function createOutcomeNotifier(options: OutcomeNotifierOptions): OutcomeNotifier {
  const { events, clock, logger, send, transport } = options;
  const maxPending = options.maxPending ?? 1000;
  const origin = crypto.randomUUID();
  const local = createSiteListeners((error, event) =>
    logger.error("an outcome listener failed", { site_id: event.siteId, error: String(error) }),
  );
  let pending: string[] = [];
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

  const keep = (message: string) => {
    pending.push(message);
    if (pending.length > maxPending) {
      pending = pending.slice(-maxPending);
      logger.warn(
        `outcome notifications dropped while ${transport} is unreachable; sites get them on reconnect`,
        {
          kept: maxPending,
        },
      );
    }
    options.onKept?.();
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

  return {
    publish(event) {
      local.dispatch(event);
      const message = JSON.stringify({ v: 1, origin, site_id: event.siteId, event_id: event.id });
      const sending =
        pending.length > 0 ? flushPending().then((flushed) => flushed && send(message)) : send(message);
      void sending.then((sent) => {
        if (!sent) keep(message);
      });
    },
    subscribe: local.subscribe,
    hear(message) {
      const notification = parseNotification(message);
      if (notification === null) {
        if (!warnedMalformed) {
          warnedMalformed = true;
          logger.warn(`ignoring a malformed outcome notification on ${transport}`);
        }
        return;
      }
      if (notification.origin === origin || !local.has(notification.site_id)) return;
      const { site_id: siteId, event_id: eventId } = notification;
      readThen("notification", siteId, async () =>
        (await events.eventsAfter(siteId, eventId - 1, clock.now())).filter((e) => e.id === eventId),
      );
    },
    replayUndelivered(reason) {
      const now = clock.now();
      for (const siteId of local.siteIds()) {
        readThen(reason, siteId, () => events.undeliveredEvents(siteId, now));
      }
    },
    flushPending,
    async close() {
      local.clear();
      await reads;
    },
  };
}
