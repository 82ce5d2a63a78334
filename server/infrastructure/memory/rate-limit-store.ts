import type { RateLimitStore } from "../../http/rate-limit-store.ts";

export interface MemoryRateLimitStore extends RateLimitStore {
  /** Counters held right now (at most `maxKeys`). */
  size(): number;
}

/**
 * Fixed-window counters in process memory. Windows are keyed by their start,
 * so a counter never needs a read-modify-write across an await.
 *
 * Memory is bounded: at `maxKeys` counters, lapsed windows are swept and, if
 * the table is still nearly full of live ones (a flood of fresh keys, such
 * as spoofed or IPv6 addresses), the least recently hit are dropped down to
 * 90%. A sweep therefore runs at most once per `maxKeys / 10` new keys, which
 * keeps every hit O(1) amortized; a key hit steadily is never the one dropped.
 */
export function createMemoryRateLimitStore(maxKeys = 100_000): MemoryRateLimitStore {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const target = Math.floor(maxKeys * 0.9);

  const makeRoom = (now: number) => {
    for (const [k, v] of windows) if (v.resetAt <= now) windows.delete(k);
    if (windows.size <= target) return;
    // Map order is insertion order and every hit re-inserts, so the first keys are the least recently hit.
    let excess = windows.size - target;
    for (const k of windows.keys()) {
      if (excess-- <= 0) break;
      windows.delete(k);
    }
  };

  return {
    size: () => windows.size,
    async hit(key, windowMs, now) {
      const start = now - (now % windowMs);
      const resetAt = start + windowMs;
      const id = `${key}@${start}`;
      let entry = windows.get(id);
      if (entry) {
        windows.delete(id);
      } else {
        if (windows.size >= maxKeys) makeRoom(now);
        entry = { count: 0, resetAt };
      }
      windows.set(id, entry);
      entry.count += 1;
      return { count: entry.count, resetAt: entry.resetAt };
    },
  };
}
