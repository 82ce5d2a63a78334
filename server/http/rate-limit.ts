/**
 * Fixed one-minute windows per (bucket, key). Cheap and predictable; a burst
 * of twice the limit across a window edge is accepted as the price of O(1)
 * state. Exceeding throws RateLimitedError, which the boundary turns into
 * 429 RATE_LIMIT_EXCEEDED with `Retry-After`.
 */

import type { Clock } from "../clock.ts";
import { RateLimitedError } from "../errors.ts";
import type { RateLimitStore } from "./rate-limit-store.ts";

const WINDOW_MS = 60_000;

export interface RateLimiter {
  enforce(bucket: string, key: string, limitPerMinute: number): Promise<void>;
}

export function createRateLimiter(store: RateLimitStore, clock: Clock): RateLimiter {
  return {
    async enforce(bucket, key, limitPerMinute) {
      const now = clock.now();
      const { count, resetAt } = await store.hit(`${bucket}:${key}`, WINDOW_MS, now);
      if (count > limitPerMinute) throw new RateLimitedError((resetAt - now) / 1000);
    },
  };
}
