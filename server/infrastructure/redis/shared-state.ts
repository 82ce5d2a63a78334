import { type Clock, systemClock } from "../../clock.ts";
import type { RateLimitStore } from "../../http/rate-limit-store.ts";
import type { AgentLoginStore } from "../../modules/agent-login/store.ts";
import type { Logger } from "../logger.ts";
import { createMemoryRateLimitStore } from "../memory/rate-limit-store.ts";
import { closeRedis, connectRedis, type RedisClient, replyWithin } from "./connection.ts";
import { createRedisOutcomeFanout, type RedisOutcomeFanout } from "./outcome-fanout.ts";
import { createRedisRateLimitStore } from "./rate-limit-store.ts";

export interface RedisSharedStateOptions {
  /** `REDIS_URL`. */
  url: string;
  logger: Logger;
  /** The shared SQL store the fan-out reads outcomes back from (the same one `createApp` gets). */
  agentLogin: AgentLoginStore;
  clock?: Clock;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxReconnectDelayMs?: number;
}

/** What several instances share through Redis, ready to pass to `createApp`. */
export interface RedisSharedState {
  rateLimitStore: RateLimitStore;
  fanout: RedisOutcomeFanout;
  /** Throws unless Redis answers a PING within a second (readiness). */
  ping(): Promise<void>;
  /** Unsubscribes and closes both connections; call after the server has stopped. */
  close(): Promise<void>;
}

/**
 * Connects the two connections the shared state needs (commands, and a
 * subscriber, since a subscribed connection can run nothing else) and builds
 * the Redis rate-limit store and outcome fan-out over them. Throws
 * `RedisUnavailableError` (naming `REDIS_URL`) when Redis cannot be reached
 * at boot; after boot an outage degrades (see each part) instead of failing.
 *
 * @example
 * const agentLogin = createSqliteAgentLoginStore(db);
 * const shared = await openRedisSharedState({ url: config.redisUrl, logger, agentLogin });
 * const server = await createApp({ ..., stores: { agentLogin }, rateLimitStore: shared.rateLimitStore, fanout: shared.fanout });
 */
export async function openRedisSharedState(options: RedisSharedStateOptions): Promise<RedisSharedState> {
  const connection = (name: string) =>
    connectRedis({
      url: options.url,
      logger: options.logger,
      name,
      connectTimeoutMs: options.connectTimeoutMs,
      commandTimeoutMs: options.commandTimeoutMs,
      maxReconnectDelayMs: options.maxReconnectDelayMs,
    });
  const opened: RedisClient[] = [];
  try {
    const commands = await connection("commands");
    opened.push(commands);
    const subscriber = await connection("subscriber");
    opened.push(subscriber);
    const fanout = await createRedisOutcomeFanout({
      publisher: commands,
      subscriber,
      events: options.agentLogin,
      clock: options.clock ?? systemClock,
      logger: options.logger,
    });
    const rateLimitStore = createRedisRateLimitStore(commands, {
      fallback: createMemoryRateLimitStore(),
      logger: options.logger,
    });
    return {
      rateLimitStore,
      fanout,
      async ping() {
        await replyWithin(commands.ping(), 1000);
      },
      async close() {
        await fanout.close();
        await Promise.all(opened.map(closeRedis));
      },
    };
  } catch (error) {
    for (const client of opened) client.destroy();
    throw error;
  }
}
