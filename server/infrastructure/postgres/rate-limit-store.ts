import { createHash } from "node:crypto";
import type { RateLimitStore } from "../../http/rate-limit-store.ts";
import type { Logger } from "../logger.ts";
import { PURGE_BATCH, PURGE_BATCHES_PER_TICK } from "../purge-batches.ts";
import type { Sql } from "./connection.ts";

/** Counters outlive their window by this much, so an instance whose clock lags a little still finds them. */
const CLOCK_SKEW_SLACK_MS = 5000;

export interface PostgresRateLimitStoreOptions {
  /** Counts hits while the database cannot answer, so limits hold per process instead of not at all. */
  fallback: RateLimitStore;
  logger: Logger;
  /** After a failure, how long hits go straight to `fallback` before the database is tried again (default 1000 ms). */
  retryAfterFailureMs?: number;
}

export interface PostgresRateLimitStore extends RateLimitStore {
  /** Deletes lapsed counters, at most `limit` per call; returns how many went. */
  purge(now: number, limit?: number): Promise<number>;
}

/**
 * Fixed-window counters shared by the fleet through one PostgreSQL table,
 * for deployments without Redis: the same windows as the in-memory and Redis
 * stores (keyed by window start), one atomic upsert per hit, so two
 * instances counting the same key at once get consecutive counts.
 *
 * Keys are SHA-256 of the limiter key (limiter keys hold addresses and
 * emails). When the database fails the hit is counted in `fallback` and the
 * outage logged once, as the Redis store does; the maintenance leader
 * purges lapsed rows in bounded batches.
 */
export function createPostgresRateLimitStore(
  sql: Sql,
  options: PostgresRateLimitStoreOptions,
): PostgresRateLimitStore {
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 1000;
  let downUntil = 0;
  let outage = false;
  return {
    async hit(key, windowMs, now) {
      if (now < downUntil) return options.fallback.hit(key, windowMs, now);
      const start = now - (now % windowMs);
      const resetAt = start + windowMs;
      const keyHash = createHash("sha256").update(key).digest("base64url");
      try {
        const rows: Array<{ hits: number }> = await sql`
          INSERT INTO rate_limit_counters (key_hash, window_start, hits, expires_at)
          VALUES (${keyHash}, ${start}, 1, ${resetAt + CLOCK_SKEW_SLACK_MS})
          ON CONFLICT (key_hash, window_start) DO UPDATE SET hits = rate_limit_counters.hits + 1
          RETURNING hits`;
        if (outage) {
          outage = false;
          options.logger.info("rate limits are shared through PostgreSQL again");
        }
        return { count: rows[0]!.hits, resetAt };
      } catch (error) {
        downUntil = now + retryAfterFailureMs;
        if (!outage) {
          outage = true;
          options.logger.warn("rate limits counted per instance while PostgreSQL is unreachable", {
            error: String(error),
          });
        }
        return options.fallback.hit(key, windowMs, now);
      }
    },
    async purge(now, limit = PURGE_BATCH * PURGE_BATCHES_PER_TICK) {
      // A batch per statement, its rows found on rate_limit_counters_expiry; `ctid = ANY(ARRAY(…))` is a
      // TID lookup, where `ctid IN (…)` made a join the planner ran as a scan of the table.
      let purged = 0;
      while (purged < limit) {
        const batch = Math.min(PURGE_BATCH, limit - purged);
        const result = await sql`
          DELETE FROM rate_limit_counters WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM rate_limit_counters WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${batch}))`;
        purged += result.count;
        if (result.count < batch) break;
      }
      return purged;
    },
  };
}
