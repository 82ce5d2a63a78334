/**
 * Regression: the in-memory rate-limit table swept every entry on each new
 * key once it held `maxKeys` live windows, and then grew past the bound
 * anyway. A flood of fresh keys (many client addresses, attacker-chosen
 * emails) cost a full scan per request and unbounded memory.
 */

import { describe, expect, test } from "bun:test";
import { createMemoryRateLimitStore } from "../../../server/infrastructure/memory/rate-limit-store.ts";

const WINDOW = 60_000;
const NOW = 1_800_000_000_000 + 1234;

describe("memory rate-limit store under a flood of fresh keys", () => {
  test("never holds more than maxKeys counters, even when every window is still live", async () => {
    const store = createMemoryRateLimitStore(100);
    for (let i = 0; i < 1000; i++) {
      await store.hit(`flood:${i}`, WINDOW, NOW);
      expect(store.size()).toBeLessThanOrEqual(100);
    }
  });

  test("a key hit steadily during the flood keeps its count (the least recently hit go first)", async () => {
    const store = createMemoryRateLimitStore(100);
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      await store.hit(`flood:${i}`, WINDOW, NOW);
      if (i % 20 === 0) last = (await store.hit("login-email:victim@example.test", WINDOW, NOW)).count;
    }
    expect(last).toBe(50);
  });

  test("lapsed windows are swept first, live counters survive the sweep", async () => {
    const store = createMemoryRateLimitStore(100);
    for (let i = 0; i < 99; i++) await store.hit(`old:${i}`, WINDOW, NOW - WINDOW);
    await store.hit("live", WINDOW, NOW);
    await store.hit("new", WINDOW, NOW);
    expect(store.size()).toBe(2);
    expect((await store.hit("live", WINDOW, NOW)).count).toBe(2);
  });
});
