/** The adaptive difficulty's policy functions and counters (docs/adaptive-difficulty.md), without a server. */

import { describe, expect, test } from "bun:test";
import {
  assignDifficulty,
  DEFAULT_SURGE_PER_MINUTE,
  defaultCeiling,
  difficultyPolicy,
  failureRaise,
  loadRaise,
  MAX_SITE_POW_DIFFICULTY,
  raiseForFailures,
} from "../../../server/foundation/sites/difficulty-policy.ts";
import { createDecayingCounters } from "../../../server/modules/adaptive-difficulty/decaying-counters.ts";
import {
  createDifficultySignals,
  FAILURE_TIME_CONSTANT_MS,
  SITE_LOAD_TIME_CONSTANT_MS,
} from "../../../server/modules/adaptive-difficulty/signals.ts";

const T0 = 1_800_000_000_000;
const policy = (
  powDifficulty: number,
  powDifficultyMax: number | null = null,
  powSurgePerMinute: number | null = null,
) => difficultyPolicy({ powDifficulty, powDifficultyMax, powSurgePerMinute });

/** `count` login requests of a site spread evenly over `ms`, ending at `end`; the load after the last. */
function flood(
  signals: ReturnType<typeof createDifficultySignals>,
  siteId: string,
  count: number,
  ms: number,
  end = T0,
) {
  let load = 0;
  for (let i = 0; i < count; i++) load = signals.loginRequested(siteId, end - ms + (ms * (i + 1)) / count);
  return load;
}

describe("the policy", () => {
  test("defaults: the ceiling is the floor + 4 within 32, the surge rate 30 a minute", () => {
    expect(policy(15)).toEqual({ floor: 15, ceiling: 19, surgePerMinute: DEFAULT_SURGE_PER_MINUTE });
    expect(DEFAULT_SURGE_PER_MINUTE).toBe(30);
    expect(defaultCeiling(30)).toBe(MAX_SITE_POW_DIFFICULTY);
    expect(defaultCeiling(32)).toBe(32);
  });

  test("a floor raised above an explicit ceiling lifts the ceiling with it: the site stays at its floor", () => {
    expect(policy(20, 18)).toMatchObject({ floor: 20, ceiling: 20 });
    expect(assignDifficulty(policy(20, 18), 10_000).difficulty).toBe(20);
  });

  test("calm: a site at or below its surge rate gets its floor", () => {
    expect(assignDifficulty(policy(15), 0)).toEqual({ difficulty: 15, raisedBy: 0 });
    expect(assignDifficulty(policy(15), 30)).toEqual({ difficulty: 15, raisedBy: 0 });
  });

  test("rise: one bit per doubling of the rate above the surge rate", () => {
    expect(loadRaise(31, 30)).toBe(1);
    expect(loadRaise(60, 30)).toBe(1);
    expect(loadRaise(61, 30)).toBe(2);
    expect(loadRaise(120, 30)).toBe(2);
    expect(loadRaise(240, 30)).toBe(3);
    expect(assignDifficulty(policy(15, 25), 240)).toEqual({ difficulty: 18, raisedBy: 3 });
  });

  test("the ceiling bounds every raise, however hard the flood", () => {
    expect(assignDifficulty(policy(15), 1e9).difficulty).toBe(19);
    expect(assignDifficulty(policy(15, 16), 1e9).difficulty).toBe(16);
    expect(raiseForFailures(policy(15, 17), 16, 1e9).difficulty).toBe(17);
  });

  test("failures: 1 → one bit, 3 → two, 7 → three; none → none", () => {
    expect([0, 1, 3, 7, 15].map(failureRaise)).toEqual([0, 1, 2, 3, 4]);
    expect(failureRaise(0.3)).toBe(0);
  });

  test("the first fetch never lowers a request's difficulty, even under a lowered ceiling", () => {
    expect(raiseForFailures(policy(15, 16), 18, 0).difficulty).toBe(18);
    expect(raiseForFailures(policy(15, 16), 18, 7).difficulty).toBe(18);
    expect(raiseForFailures(policy(15), 16, 3)).toEqual({ difficulty: 18, raisedBy: 2 });
  });
});

describe("the counters", () => {
  test("a steady rate reads as that rate per time constant, and decays by e each time constant", () => {
    const counters = createDecayingCounters(60_000, 10);
    let value = 0;
    // 120 events a minute for ten minutes: the value settles near 120.
    for (let i = 1; i <= 1200; i++) value = counters.add("k", T0 + i * 500);
    expect(value).toBeGreaterThan(118);
    expect(value).toBeLessThan(122);
    const end = T0 + 1200 * 500;
    expect(counters.read("k", end + 60_000)).toBeCloseTo(value / Math.E, 6);
    expect(counters.read("never", end)).toBe(0);
  });

  test("a clock stepping back does not inflate a value", () => {
    const counters = createDecayingCounters(60_000, 10);
    counters.add("k", T0);
    expect(counters.read("k", T0 - 60_000)).toBe(1);
    expect(counters.add("k", T0 - 60_000)).toBe(2);
  });

  test("bounded: at maxKeys the faded and then the least recently touched keys go", () => {
    const counters = createDecayingCounters(1_000, 100);
    counters.add("steady", T0);
    for (let i = 0; i < 500; i++) {
      counters.add(`flood-${i}`, T0 + i);
      counters.add("steady", T0 + i);
    }
    expect(counters.size()).toBeLessThanOrEqual(100);
    expect(counters.read("steady", T0 + 500)).toBeGreaterThan(100);
  });

  test("refuses a nonsensical time constant or size", () => {
    expect(() => createDecayingCounters(0, 10)).toThrow(RangeError);
    expect(() => createDecayingCounters(1_000, 0)).toThrow(RangeError);
  });
});

describe("the signals", () => {
  test("a flood of one site raises that site and no other", () => {
    const signals = createDifficultySignals();
    const load = flood(signals, "site-a", 600, 60_000);
    expect(assignDifficulty(policy(15), load).difficulty).toBe(19);
    expect(signals.siteLoad("site-b", T0)).toBe(0);
    expect(assignDifficulty(policy(15), signals.siteLoad("site-b", T0)).difficulty).toBe(15);
  });

  test("decay: a flooded site falls back to its floor once calm", () => {
    const signals = createDifficultySignals();
    flood(signals, "site-a", 600, 60_000);
    const after = (minutes: number) =>
      assignDifficulty(policy(15), signals.siteLoad("site-a", T0 + minutes * SITE_LOAD_TIME_CONSTANT_MS))
        .difficulty;
    expect(after(0)).toBe(19);
    expect(after(1)).toBeLessThan(19);
    expect(after(3)).toBe(15);
  });

  test("per-address isolation: failures raise the failing address (its /64 for IPv6), not its neighbours", () => {
    const signals = createDifficultySignals();
    for (let i = 0; i < 3; i++) signals.failed("2001:db8:1:2::10", T0);
    expect(failureRaise(signals.failures("2001:db8:1:2::10", T0))).toBe(2);
    expect(failureRaise(signals.failures("2001:db8:1:2:ffff::1", T0))).toBe(2);
    expect(signals.failures("2001:db8:1:3::10", T0)).toBe(0);
    expect(signals.failures("192.0.2.7", T0)).toBe(0);
    // Decay: about 0.88 τ after one failure it no longer raises anything.
    signals.failed("192.0.2.8", T0);
    expect(failureRaise(signals.failures("192.0.2.8", T0 + FAILURE_TIME_CONSTANT_MS / 2))).toBe(1);
    expect(failureRaise(signals.failures("192.0.2.8", T0 + FAILURE_TIME_CONSTANT_MS))).toBe(0);
  });

  test("failures of an address that is not known (no transport) are counted against no one", () => {
    const signals = createDifficultySignals();
    signals.failed("unknown", T0);
    expect(signals.failures("unknown", T0)).toBe(0);
  });

  test("a shown challenge is remembered for its address until taken, once", () => {
    const signals = createDifficultySignals({ maxKeys: 2 });
    signals.challengeShown("r1", "192.0.2.1", T0, T0 + 1_000);
    expect(signals.takeShownTo("r1")).toBe("192.0.2.1");
    expect(signals.takeShownTo("r1")).toBeNull();
    // Bounded: overdue entries make room first.
    signals.challengeShown("r2", "192.0.2.2", T0, T0 + 1_000);
    signals.challengeShown("r3", "192.0.2.3", T0, T0 + 5_000);
    signals.challengeShown("r4", "192.0.2.4", T0 + 2_000, T0 + 9_000);
    expect(signals.takeShownTo("r2")).toBeNull();
    expect(signals.takeShownTo("r3")).toBe("192.0.2.3");
    expect(signals.takeShownTo("r4")).toBe("192.0.2.4");
  });

  test("when nothing is overdue, a full table drops its oldest tenth at once, not one entry per insert", () => {
    const signals = createDifficultySignals({ maxKeys: 100 });
    for (let i = 0; i < 100; i++) signals.challengeShown(`r${i}`, "192.0.2.1", T0, T0 + 60_000);
    signals.challengeShown("r100", "192.0.2.1", T0, T0 + 60_000);
    // 100 held at the limit; the sweep keeps 90 of them (r10..r99), then r100 joins.
    for (let i = 0; i < 10; i++) expect(signals.takeShownTo(`r${i}`)).toBeNull();
    for (let i = 10; i <= 100; i++) expect(signals.takeShownTo(`r${i}`)).toBe("192.0.2.1");
  });
});
