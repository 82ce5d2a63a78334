/**
 * Fixed windows per (bucket, key), one minute unless a bucket says otherwise.
 * Cheap and predictable; a burst of twice the limit across a window edge is
 * accepted as the price of O(1) state. Exceeding throws RateLimitedError,
 * which the boundary turns into 429 RATE_LIMIT_EXCEEDED with `Retry-After`.
 */

import type { Clock } from "../clock.ts";
import { RateLimitedError } from "../errors.ts";
import type { RateLimitStore } from "./rate-limit-store.ts";

const MINUTE_MS = 60_000;

export interface RateLimiter {
  /** Counts one hit; throws RateLimitedError past `limit` hits in the window (default one minute). */
  enforce(bucket: string, key: string, limit: number, windowMs?: number): Promise<void>;
}

export function createRateLimiter(store: RateLimitStore, clock: Clock): RateLimiter {
  return {
    async enforce(bucket, key, limit, windowMs = MINUTE_MS) {
      const now = clock.now();
      const { count, resetAt } = await store.hit(`${bucket}:${key}`, windowMs, now);
      if (count > limit) throw new RateLimitedError((resetAt - now) / 1000);
    },
  };
}
