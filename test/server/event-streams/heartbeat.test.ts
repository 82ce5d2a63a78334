import { describe, expect, test } from "bun:test";
import { createHeartbeat, type HeartbeatTimer } from "../../../server/modules/agent-login/heartbeat.ts";

/** A timer ticked by hand: how many are running, and one tick at a time. */
function manualTimer() {
  let tick: (() => void) | null = null;
  let starts = 0;
  let everyMs = 0;
  const timer: HeartbeatTimer = {
    start(callback, ms) {
      tick = callback;
      everyMs = ms;
      starts += 1;
      return starts;
    },
    stop() {
      tick = null;
    },
  };
  return {
    timer,
    running: () => tick !== null,
    starts: () => starts,
    everyMs: () => everyMs,
    advance(ticks: number) {
      for (let i = 0; i < ticks; i++) tick?.();
    },
  };
}

describe("the shared keepalive heartbeat", () => {
  test("one timer beats every member once per period, each a whole period after it joined", () => {
    const clock = manualTimer();
    const heartbeat = createHeartbeat(800, clock.timer);
    const beats = { a: 0, b: 0 };
    heartbeat.join({ beat: () => beats.a++ });
    clock.advance(5);
    heartbeat.join({ beat: () => beats.b++ });
    expect(clock.starts()).toBe(1);
    expect(clock.everyMs()).toBe(50);
    clock.advance(10);
    expect(beats).toEqual({ a: 0, b: 0 });
    clock.advance(1); // 16 ticks: a full period since `a` joined
    expect(beats).toEqual({ a: 1, b: 0 });
    clock.advance(5); // a full period since `b` joined
    expect(beats).toEqual({ a: 1, b: 1 });
    clock.advance(16 * 3);
    expect(beats).toEqual({ a: 4, b: 4 });
  });

  test("members joining over a period are spread over its ticks, not beaten in one burst", () => {
    const clock = manualTimer();
    const heartbeat = createHeartbeat(800, clock.timer);
    const perTick: number[] = [];
    let count = 0;
    for (let i = 0; i < 160; i++) {
      heartbeat.join({ beat: () => count++ });
      if (i % 10 === 9) clock.advance(1);
    }
    for (let i = 0; i < 16; i++) {
      count = 0;
      clock.advance(1);
      perTick.push(count);
    }
    expect(perTick.every((n) => n === 10)).toBe(true);
  });

  test("a member that leaves stops beating, and the timer stops with the last one", () => {
    const clock = manualTimer();
    const heartbeat = createHeartbeat(800, clock.timer);
    let beats = 0;
    const member = { beat: () => beats++ };
    const other = { beat: () => {} };
    heartbeat.join(member);
    heartbeat.join(other);
    heartbeat.leave(member);
    heartbeat.leave(member); // twice is harmless
    expect(heartbeat.size()).toBe(1);
    clock.advance(32);
    expect(beats).toBe(0);
    heartbeat.leave(other);
    expect(heartbeat.size()).toBe(0);
    expect(clock.running()).toBe(false);
    heartbeat.join({ beat: () => beats++ });
    expect(clock.starts()).toBe(2);
    clock.advance(16);
    expect(beats).toBe(1);
  });

  test("a member leaving while its group is beaten does not stop the others", () => {
    const clock = manualTimer();
    const heartbeat = createHeartbeat(800, clock.timer);
    let others = 0;
    const leaving = { beat: () => heartbeat.leave(leaving) };
    heartbeat.join(leaving);
    heartbeat.join({ beat: () => others++ });
    clock.advance(16);
    expect(others).toBe(1);
    expect(heartbeat.size()).toBe(1);
  });

  test("a period shorter than a tick is one group beaten every period", () => {
    const clock = manualTimer();
    const heartbeat = createHeartbeat(5, clock.timer);
    let beats = 0;
    heartbeat.join({ beat: () => beats++ });
    expect(clock.everyMs()).toBe(5);
    clock.advance(3);
    expect(beats).toBe(3);
  });

  test("with real timers, a member keeps beating until it leaves", async () => {
    const heartbeat = createHeartbeat(5);
    let beats = 0;
    let member = { beat: () => {} };
    await new Promise<void>((resolve) => {
      member = {
        beat: () => {
          beats++;
          if (beats === 3) resolve();
        },
      };
      heartbeat.join(member);
    });
    heartbeat.leave(member);
    expect(heartbeat.size()).toBe(0);
    expect(beats).toBe(3);
  });
});
