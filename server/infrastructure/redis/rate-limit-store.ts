import { createHash } from "node:crypto";
import type { RateLimitStore } from "../../http/rate-limit-store.ts";
import type { Logger } from "../logger.ts";
import { type RedisClient, replyWithin } from "./connection.ts";

/**
 * One round trip, atomic: the count and its expiry are set together, so two
 * instances hitting the same key at once get consecutive counts and a key can
 * never be left without a TTL (which a crash between a separate INCR and
 * PEXPIRE could do). PTTL < 0 rather than count == 1 also repairs a key that
 * somehow lost its TTL.
 */
export const HIT_SCRIPT = `local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

const HIT_SCRIPT_SHA1 = createHash("sha1").update(HIT_SCRIPT).digest("hex");

/** Counters outlive their window by this much, so an instance whose clock lags a little still finds them. */
const CLOCK_SKEW_SLACK_MS = 5000;

export interface RedisRateLimitStoreOptions {
  /** Counts hits while Redis cannot answer, so limits hold per process instead of not at all. */
  fallback: RateLimitStore;
  logger: Logger;
  /** Prefix of every key (default `lime:`). */
  prefix?: string;
  /** How long a hit waits for Redis before counting in `fallback` (default 250 ms). */
  replyTimeoutMs?: number;
  /** After a failure, how long hits go straight to `fallback` before Redis is tried again (default 1000 ms). */
  retryAfterFailureMs?: number;
}

/**
 * Fixed-window counters shared by every instance through Redis, the same
 * windows as the in-memory store (keyed by window start, so instances agree
 * on the window whatever the moment they counted in it).
 *
 * Keys are SHA-256 of the limiter key: the limiter keys hold client
 * addresses and emails, which Redis need not see, and the hash bounds the
 * key length whatever the input.
 *
 * When Redis fails or times out, the hit is counted by `fallback` (the
 * in-memory store) and the outage is logged once: during an outage each
 * instance enforces the limit on its own, so a client spread over N
 * instances gets at most N times the limit, rather than every request
 * failing with a 500 or no limit applying at all. After a failure Redis is
 * left alone for `retryAfterFailureMs`: a Redis that hangs rather than
 * refuses (a half-open connection, a stalled server) would otherwise add the
 * full command timeout to every rate-limited request.
 *
 * @example
 * const store = createRedisRateLimitStore(client, { fallback: createMemoryRateLimitStore(), logger });
 * await store.hit("login:203.0.113.7", 60_000, Date.now()); // { count: 1, resetAt }
 */
export function createRedisRateLimitStore(
  client: RedisClient,
  options: RedisRateLimitStoreOptions,
): RateLimitStore {
  const prefix = options.prefix ?? "lime:";
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 1000;
  const replyTimeoutMs = options.replyTimeoutMs ?? 250;
  let degraded = false;
  // Real time, not the app's clock: this paces calls to Redis, it is not part of any window.
  let skipRedisUntil = 0;

  const increment = async (key: string, ttlMs: number): Promise<number> => {
    const args = { keys: [key], arguments: [String(ttlMs)] };
    try {
      return Number(await replyWithin(client.evalSha(HIT_SCRIPT_SHA1, args), replyTimeoutMs));
    } catch (error) {
      // A restarted Redis has an empty script cache: load it once through EVAL.
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return Number(await replyWithin(client.eval(HIT_SCRIPT, args), replyTimeoutMs));
    }
  };

  return {
    async hit(key, windowMs, now) {
      const start = now - (now % windowMs);
      const resetAt = start + windowMs;
      if (Date.now() < skipRedisUntil) return options.fallback.hit(key, windowMs, now);
      const digest = createHash("sha256").update(key).digest("base64url");
      try {
        const count = await increment(
          `${prefix}rl:${windowMs}:${start}:${digest}`,
          resetAt - now + CLOCK_SKEW_SLACK_MS,
        );
        if (!Number.isSafeInteger(count) || count < 1) throw new Error(`unexpected counter reply ${count}`);
        if (degraded) {
          degraded = false;
          options.logger.info("rate limits are shared through Redis again");
        }
        return { count, resetAt };
      } catch (error) {
        skipRedisUntil = Date.now() + retryAfterFailureMs;
        if (!degraded) {
          degraded = true;
          options.logger.warn("Redis unavailable; rate limits are counted per instance until it returns", {
            error: error instanceof Error ? error.message : String(error),
          });
        }
        return options.fallback.hit(key, windowMs, now);
      }
    },
  };
}
