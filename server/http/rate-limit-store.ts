/** Counters for fixed-window rate limits; a shared store (Redis INCR + PEXPIRE) can replace the in-memory one. */
export interface RateLimitStore {
  /** Counts one hit for `key` in the window containing `now`. */
  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
}
