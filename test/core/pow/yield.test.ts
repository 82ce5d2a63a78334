import { describe, expect, test } from "bun:test";
import { createYield, yieldToEventLoop } from "../../../core/pow/yield.ts";

describe("yielding between batches", () => {
  test("lets due timers run, through setImmediate, a MessageChannel, or setTimeout", async () => {
    const scopes = [{ setImmediate, setTimeout }, { MessageChannel, setTimeout }, { setTimeout }];
    for (const scope of scopes) {
      let ran = false;
      setTimeout(() => {
        ran = true;
      }, 0);
      const yieldOnce = createYield(scope as never);
      // The solver yields after every batch; a timer that is due runs at one of those boundaries.
      const deadline = performance.now() + 2000;
      while (!ran && performance.now() < deadline) await yieldOnce();
      expect(ran).toBe(true);
    }
    await yieldToEventLoop();
  });
});
