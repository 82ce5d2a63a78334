import type { Clock } from "../../clock.ts";
import type { AgentLoginStore, OutcomeFanout } from "../../modules/agent-login/store.ts";
import type { Logger } from "../logger.ts";
import { createOutcomeNotifier } from "../outcome-notifier.ts";
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

/**
 * Fan-out of login outcomes across instances over Redis pub/sub; what a
 * notification carries, and how gaps are closed, is shared with the
 * PostgreSQL fan-out (server/infrastructure/outcome-notifier.ts): ids only,
 * read back from the SQL store; kept and re-sent when Redis was away; the
 * undelivered outcomes of every site with a stream here replayed when the
 * subscriber reconnects.
 *
 * One channel for every site, subscribed once at creation, rather than a
 * channel per site subscribed when a stream opens: SUBSCRIBE is
 * asynchronous, and an outcome published between a stream's backlog read
 * and its SUBSCRIBE taking effect would be missed. Notifications are ~100
 * bytes and instances without a stream for the site drop them unread.
 *
 * @example
 * const fanout = await createRedisOutcomeFanout({ publisher, subscriber, events: stores.agentLogin, clock, logger });
 */
export async function createRedisOutcomeFanout(
  options: RedisOutcomeFanoutOptions,
): Promise<RedisOutcomeFanout> {
  const { publisher, subscriber } = options;
  const channel = options.channel ?? "lime:agent-login:outcomes";
  let closed = false;
  const notifier = createOutcomeNotifier({
    events: options.events,
    clock: options.clock,
    logger: options.logger,
    transport: "Redis",
    maxPending: options.maxPending,
    async send(message) {
      try {
        // A publish that times out but lands later is sent twice; receivers drop the duplicate.
        await replyWithin(publisher.publish(channel, message), 1000);
        return true;
      } catch {
        return false;
      }
    },
  });
  const onMessage = (message: string) => notifier.hear(message);
  const onSubscriberReady = () => {
    if (!closed) notifier.replayUndelivered("resubscribed");
  };
  const onPublisherReady = () => void notifier.flushPending();

  await subscriber.subscribe(channel, onMessage);
  // The first "ready" fired before this; each later one follows a reconnect, with the subscription restored.
  subscriber.on("ready", onSubscriberReady);
  publisher.on("ready", onPublisherReady);

  return {
    publish: notifier.publish,
    subscribe: notifier.subscribe,
    async close() {
      closed = true;
      subscriber.off("ready", onSubscriberReady);
      publisher.off("ready", onPublisherReady);
      await notifier.close();
      if (subscriber.isReady) await subscriber.unsubscribe(channel, onMessage).catch(() => {});
    },
  };
}
