/**
 * Regression: every resend brought a fresh six-digit code with five more
 * attempts, and only per-minute limits applied, so an attacker who registered
 * someone else's address could keep guessing (~20 a minute, an even chance
 * within a month) and end up with an account "verified" for an address they
 * do not own. Verification attempts per address are now bounded per day.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { EMAIL_CODE_GUESSES_PER_DAY } from "../../../server/foundation/users/service.ts";
import { FakeClock, startTestServer, type TestServer } from "../../../server/testing.ts";
import { api } from "../helpers.ts";

const USERS = "/api/v1/foundation/users";
const EMAIL = "someone-else@example.test";

let t: TestServer;
let clock: FakeClock;

beforeEach(async () => {
  // Noon UTC, so the few minutes below never cross a day boundary.
  clock = new FakeClock(Date.UTC(2031, 4, 14, 12, 0, 0));
  t = await startTestServer({ clock });
});
afterEach(async () => {
  await t.stop();
});

const verify = (code: string) =>
  api(t.url, `${USERS}/register/verify`, { method: "POST", json: { email: EMAIL, code } });
const resend = () => api(t.url, `${USERS}/register/resend`, { method: "POST", json: { email: EMAIL } });
const wrongCode = () => (t.mailer.codes.get(EMAIL) === "000000" ? "111111" : "000000");

describe("email verification codes cannot be guessed by resending", () => {
  test(`after ${EMAIL_CODE_GUESSES_PER_DAY} attempts in a day even the right code waits for the next day`, async () => {
    const registered = await api(t.url, `${USERS}/register`, {
      method: "POST",
      json: { email: EMAIL, password: "correct horse battery staple" },
    });
    expect(registered.status).toBe(201);

    let guesses = 0;
    while (guesses < EMAIL_CODE_GUESSES_PER_DAY) {
      clock.advance(61_000);
      expect((await resend()).status).toBe(202);
      for (let i = 0; i < 5 && guesses < EMAIL_CODE_GUESSES_PER_DAY; i++, guesses++) {
        expect([400, 403]).toContain((await verify(wrongCode())).status);
      }
    }

    clock.advance(61_000);
    expect((await resend()).status).toBe(202);
    const refused = await verify(t.mailer.codes.get(EMAIL)!);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("RATE_LIMIT_EXCEEDED");

    clock.advance(24 * 3600_000);
    expect((await resend()).status).toBe(202);
    const verified = await verify(t.mailer.codes.get(EMAIL)!);
    expect(verified.status).toBe(200);
    expect(verified.body.data.email_verified).toBe(true);
  });
});
