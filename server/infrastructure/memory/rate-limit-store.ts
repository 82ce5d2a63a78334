import type { RateLimitStore } from "../../http/rate-limit-store.ts";

/**
 * Fixed-window counters in process memory. Windows are keyed by their start,
 * so a counter never needs a read-modify-write across an await; stale windows
 * are swept as they are passed.
 */
export function createMemoryRateLimitStore(maxKeys = 100_000): RateLimitStore {
  const windows = new Map<string, { count: number; resetAt: number }>();
  return {
    async hit(key, windowMs, now) {
      const start = now - (now % windowMs);
      const resetAt = start + windowMs;
      const id = `${key}@${start}`;
      let entry = windows.get(id);
      if (!entry) {
        if (windows.size >= maxKeys) {
          for (const [k, v] of windows) if (v.resetAt <= now) windows.delete(k);
        }
        entry = { count: 0, resetAt };
        windows.set(id, entry);
      }
      entry.count += 1;
      return { count: entry.count, resetAt: entry.resetAt };
    },
  };
}
