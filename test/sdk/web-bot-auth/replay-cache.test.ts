import { describe, expect, test } from "bun:test";
import { NonceReplayCache } from "../../../sdk/site/replay-cache.ts";

describe("NonceReplayCache: each nonce accepted once within its signature's lifetime", () => {
  test("a nonce is refused while its signature lives, and may come back once it expired", () => {
    const cache = new NonceReplayCache(10);
    expect(cache.remember("k n1", 2_000, 1_000)).toBe(true);
    expect(cache.remember("k n1", 2_000, 1_500)).toBe(false);
    expect(cache.remember("k n2", 2_000, 1_500)).toBe(true);
    // Past 2 000 ms the signature itself is refused as expired; the slot can be reused.
    expect(cache.remember("k n1", 5_000, 2_000)).toBe(true);
  });

  test("bounded: when full, the expired nonces go first and the unexpired ones stay refused", () => {
    const cache = new NonceReplayCache(4);
    cache.remember("live-1", 10_000, 0);
    cache.remember("dead-1", 100, 0);
    cache.remember("live-2", 10_000, 0);
    cache.remember("dead-2", 100, 0);
    expect(cache.size).toBe(4);
    expect(cache.remember("new", 10_000, 500)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.remember("live-1", 10_000, 600)).toBe(false);
    expect(cache.remember("live-2", 10_000, 600)).toBe(false);
  });

  test("bounded even when every nonce is alive: the oldest are dropped, never more than the limit held", () => {
    const cache = new NonceReplayCache(100);
    for (let i = 0; i < 1_000; i++) expect(cache.remember(`n${i}`, 1_000_000, i)).toBe(true);
    expect(cache.size).toBeLessThanOrEqual(100);
    // The most recent ones are still refused.
    expect(cache.remember("n999", 1_000_000, 1_000)).toBe(false);
  });

  test("the size must be a positive integer", () => {
    expect(() => new NonceReplayCache(0)).toThrow(RangeError);
    expect(() => new NonceReplayCache(1.5)).toThrow(RangeError);
  });
});
