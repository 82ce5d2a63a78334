import type { Clock } from "../../clock.ts";
import type { AgentLoginStore, OutcomeEvent, OutcomeFanout } from "../../modules/agent-login/store.ts";
import type { Logger } from "../logger.ts";
import { createSiteListeners } from "../memory/outcome-fanout.ts";
import { type RedisClient, replyWithin } from "./connection.ts";

export interface RedisOutcomeFanoutOptions {
  /** Sends notifications (any command connection). */
  publisher: RedisClient;
  /** A connection of its own: a subscribed connection can run no other command. */
  subscriber: RedisClient;
  /** Where outcomes are read back: the shared SQL store, the source of truth. */
  events: Pick<AgentLoginStore, "eventsAfter" | "undeliveredEvents">;
  clock: Clock;
  logger: Logger;
  /** Default `lime:agent-login:outcomes`. */
  channel?: string;
  /** Notifications kept for re-publishing while Redis is unreachable (default 1000). */
  maxPending?: number;
}

export interface RedisOutcomeFanout extends OutcomeFanout {
  /** Unsubscribes from the channel; the connections stay open (their owner closes them). */
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
 * Fan-out of login outcomes across instances over Redis pub/sub.
 *
 * Redis carries only a notification, `{site_id, event_id}`, never the event:
 * an `approved` outcome holds a live site-login passport, a bearer
 * credential that has no business in Redis (often unencrypted on the wire),
 * and an instance that receives a notification reads the event back from
 * the shared SQL store, where the approval committed before it was
 * announced. So a forged notification can at most make an instance re-read
 * a real outcome of that site, which the stream drops as a duplicate.
 *
 * One channel for every site, subscribed once at creation, rather than a
 * channel per site subscribed when a stream opens: SUBSCRIBE is
 * asynchronous, and an outcome published between a stream's backlog read
 * and its SUBSCRIBE taking effect would be missed. Notifications are ~100
 * bytes and instances without a stream for the site drop them unread.
 *
 * Outcomes published on this instance reach its own streams directly and
 * synchronously, as the in-memory fan-out does, whether or not Redis is up;
 * the echo of its own notification is ignored.
 *
 * Gaps are closed from the store: a notification that could not be
 * published is kept (bounded) and sent again once the connection is back;
 * and when the subscriber reconnects, every site with a stream here gets its
 * undelivered outcomes replayed, covering what was published while this
 * instance was not listening. Streams drop duplicates by id.
 *
 * @example
 * const fanout = await createRedisOutcomeFanout({ publisher, subscriber, events: stores.agentLogin, clock, logger });
 */
export async function createRedisOutcomeFanout(
  options: RedisOutcomeFanoutOptions,
): Promise<RedisOutcomeFanout> {
  const { publisher, subscriber, events, clock, logger } = options;
  const channel = options.channel ?? "lime:agent-login:outcomes";
  const maxPending = options.maxPending ?? 1000;
  const origin = crypto.randomUUID();
  const local = createSiteListeners((error, event) =>
    logger.error("an outcome listener failed", { site_id: event.siteId, error: String(error) }),
  );
  let pending: string[] = [];
  let closed = false;
  // Reads run one after another, so streams see outcomes in the order Redis delivered the notifications.
  let reads: Promise<void> = Promise.resolve();
  let warnedMalformed = false;

  const dispatch = local.dispatch;

  const readThen = (what: string, siteId: string, read: () => Promise<OutcomeEvent[]>) => {
    reads = reads.then(async () => {
      if (!local.has(siteId)) return;
      try {
        for (const event of await read()) dispatch(event);
      } catch (error) {
        logger.error(`could not read outcomes (${what})`, { site_id: siteId, error: String(error) });
      }
    });
  };

  const onMessage = (message: string) => {
    const notification = parseNotification(message);
    if (notification === null) {
      if (!warnedMalformed) {
        warnedMalformed = true;
        logger.warn("ignoring a malformed outcome notification on Redis", { channel });
      }
      return;
    }
    if (notification.origin === origin || !local.has(notification.site_id)) return;
    const { site_id: siteId, event_id: eventId } = notification;
    readThen("notification", siteId, async () =>
      (await events.eventsAfter(siteId, eventId - 1, clock.now())).filter((e) => e.id === eventId),
    );
  };

  const send = async (message: string): Promise<boolean> => {
    try {
      // A publish that times out but lands later is sent twice; receivers drop the duplicate.
      await replyWithin(publisher.publish(channel, message), 1000);
      return true;
    } catch {
      return false;
    }
  };

  const keep = (message: string) => {
    pending.push(message);
    if (pending.length > maxPending) {
      pending = pending.slice(-maxPending);
      logger.warn("outcome notifications dropped while Redis is unreachable; sites get them on reconnect", {
        kept: maxPending,
      });
    }
  };

  const flushPending = async () => {
    const queued = pending;
    pending = [];
    for (const [index, message] of queued.entries()) {
      if (!(await send(message))) {
        pending = [...queued.slice(index), ...pending];
        return;
      }
    }
  };

  const onSubscriberReady = () => {
    if (closed) return;
    const now = clock.now();
    for (const siteId of local.siteIds()) {
      readThen("resubscribed", siteId, () => events.undeliveredEvents(siteId, now));
    }
  };

  await subscriber.subscribe(channel, onMessage);
  // The first "ready" fired before this; each later one follows a reconnect, with the subscription restored.
  subscriber.on("ready", onSubscriberReady);
  const onPublisherReady = () => void flushPending();
  publisher.on("ready", onPublisherReady);

  return {
    publish(event) {
      dispatch(event);
      const message = JSON.stringify({ v: 1, origin, site_id: event.siteId, event_id: event.id });
      const publishing = pending.length > 0 ? flushPending().then(() => send(message)) : send(message);
      void publishing.then((sent) => {
        if (!sent) keep(message);
      });
    },
    subscribe: local.subscribe,
    async close() {
      closed = true;
      subscriber.off("ready", onSubscriberReady);
      publisher.off("ready", onPublisherReady);
      local.clear();
      await reads;
      if (subscriber.isReady) await subscriber.unsubscribe(channel, onMessage).catch(() => {});
    },
  };
}
