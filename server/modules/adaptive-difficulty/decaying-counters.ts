/**
 * Counters that fade: each key holds a value that decays exponentially with
 * a time constant τ, so a steady stream of r events per τ settles at r, and
 * a key left alone loses 63% of its value every τ. O(1) per event, no timer:
 * the decay is applied when a key is read or added to.
 *
 * Memory is bounded like the in-memory rate-limit store's: at `maxKeys`,
 * faded keys are swept and, if the table is still nearly full, the least
 * recently touched are dropped down to 90%. Losing a key only forgets a
 * signal (a difficulty falls back toward the floor), never a security check.
 *
 * @example
 * const perMinute = createDecayingCounters(60_000, 10_000);
 * perMinute.add("site-a", now); // 1
 * perMinute.read("site-a", now + 60_000); // ≈ 0.37
 */

export interface DecayingCounters {
  /** Adds `weight` to the key's decayed value at `now`; returns the new value. */
  add(key: string, now: number, weight?: number): number;
  /** The key's value decayed to `now`; 0 for a key never seen (or forgotten). */
  read(key: string, now: number): number;
  /** Keys held right now (at most `maxKeys`). */
  size(): number;
}

/** Below this a value is as good as nothing, and its key may be swept. */
const FADED = 0.01;

export function createDecayingCounters(timeConstantMs: number, maxKeys: number): DecayingCounters {
  if (!(timeConstantMs > 0)) throw new RangeError("timeConstantMs must be positive");
  if (!(Number.isInteger(maxKeys) && maxKeys > 0)) throw new RangeError("maxKeys must be a positive integer");
  const counters = new Map<string, { value: number; at: number }>();
  const target = Math.floor(maxKeys * 0.9);

  // A clock that steps back (a test's, or NTP) does not inflate a value: elapsed time is never negative.
  const decayed = (entry: { value: number; at: number }, now: number) =>
    entry.value * Math.exp(-Math.max(0, now - entry.at) / timeConstantMs);

  const makeRoom = (now: number) => {
    for (const [key, entry] of counters) if (decayed(entry, now) < FADED) counters.delete(key);
    if (counters.size <= target) return;
    // Map order is insertion order and every add re-inserts, so the first keys are the least recently touched.
    let excess = counters.size - target;
    for (const key of counters.keys()) {
      if (excess-- <= 0) break;
      counters.delete(key);
    }
  };

  return {
    add(key, now, weight = 1) {
      const entry = counters.get(key);
      const value = (entry ? decayed(entry, now) : 0) + weight;
      if (entry) counters.delete(key);
      else if (counters.size >= maxKeys) makeRoom(now);
      counters.set(key, { value, at: Math.max(now, entry?.at ?? now) });
      return value;
    },
    read(key, now) {
      const entry = counters.get(key);
      return entry ? decayed(entry, now) : 0;
    },
    size: () => counters.size,
  };
}
