import { describe, expect, test } from "bun:test";
import { createSharedChecks } from "../../../server/modules/agent-login/shared-checks.ts";

/** A check whose answer the test gives when it wants; counts how often it was asked. */
function deferredCheck() {
  const asked: ((answer: string) => void)[] = [];
  const fail: ((error: Error) => void)[] = [];
  return {
    check: () =>
      new Promise<string>((resolve, reject) => {
        asked.push(resolve);
        fail.push(reject);
      }),
    asked: () => asked.length,
    answer: (index: number, value: string) => asked[index]!(value),
    fail: (index: number, error: Error) => fail[index]!(error),
  };
}

describe("credential re-checks shared between streams", () => {
  test("writes queued before a check starts share it: one question, one answer for all", async () => {
    const checks = createSharedChecks<string>();
    const source = deferredCheck();
    const tickets = [checks.ticket(), checks.ticket(), checks.ticket()];
    const answers = tickets.map((ticket) => checks.run("site token", ticket, source.check));
    expect(source.asked()).toBe(1);
    source.answer(0, "ok");
    expect(await Promise.all(answers)).toEqual(["ok", "ok", "ok"]);
    expect(checks.inFlight()).toBe(0);
  });

  test("a write queued after a check started asks again: it never gets an answer older than itself", async () => {
    const checks = createSharedChecks<string>();
    const source = deferredCheck();
    const early = checks.run("site token", checks.ticket(), source.check);
    const late = checks.run("site token", checks.ticket(), source.check);
    expect(source.asked()).toBe(2);
    source.answer(0, "ok (read before the rotation)");
    source.answer(1, "token rotated");
    expect(await early).toBe("ok (read before the rotation)");
    expect(await late).toBe("token rotated");
    // The newer check replaced the older: a write queued before it joins it.
    expect(checks.inFlight()).toBe(0);
  });

  test("different sites or tokens never share a check", () => {
    const checks = createSharedChecks<string>();
    const source = deferredCheck();
    const ticket = checks.ticket();
    void checks.run("site-a token", ticket, source.check);
    void checks.run("site-b token", ticket, source.check);
    void checks.run("site-a other-token", ticket, source.check);
    expect(source.asked()).toBe(3);
    expect(checks.inFlight()).toBe(3);
  });

  test("a failed check fails every write that shared it, and is not reused", async () => {
    const checks = createSharedChecks<string>();
    const source = deferredCheck();
    const tickets = [checks.ticket(), checks.ticket()];
    const answers = tickets.map((ticket) => checks.run("site token", ticket, source.check));
    source.fail(0, new Error("database away"));
    for (const answer of answers) await expect(answer).rejects.toThrow("database away");
    expect(checks.inFlight()).toBe(0);
    const again = checks.run("site token", checks.ticket(), source.check);
    expect(source.asked()).toBe(2);
    source.answer(1, "ok");
    expect(await again).toBe("ok");
  });

  test("an older check finishing after a newer one started leaves the newer in place", async () => {
    const checks = createSharedChecks<string>();
    const source = deferredCheck();
    const first = checks.run("k", checks.ticket(), source.check);
    const ticket = checks.ticket();
    const second = checks.run("k", ticket, source.check);
    source.answer(0, "first");
    await first;
    // A write queued before the second check started still joins it.
    const joined = checks.run("k", ticket - 1, source.check);
    expect(source.asked()).toBe(2);
    source.answer(1, "second");
    expect(await second).toBe("second");
    expect(await joined).toBe("second");
  });
});
