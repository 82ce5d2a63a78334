/**
 * Regression: `/register/resend` was limited per minute only (3 per address),
 * so anyone could have the server mail a code to an address over 4000 times
 * a day. Resends per address are now bounded per day as well.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { EMAIL_CODE_RESENDS_PER_DAY } from "../../../server/foundation/users/service.ts";
import type { Mailer } from "../../../server/infrastructure/mailer.ts";
import { FakeClock, startTestServer, type TestServer } from "../../../server/testing.ts";
import { api } from "../helpers.ts";

const EMAIL = "inbox-of-someone@example.test";

let t: TestServer;
let clock: FakeClock;
let sent: number;

beforeEach(async () => {
  clock = new FakeClock(Date.UTC(2031, 4, 14, 12, 0, 0));
  sent = 0;
  const mailer: Mailer = {
    async sendVerificationCode() {
      sent += 1;
    },
    async sendPasswordResetLink() {},
  };
  t = await startTestServer({ clock, extra: { mailer } });
});
afterEach(async () => {
  await t.stop();
});

const resend = () =>
  api(t.url, "/api/v1/foundation/users/register/resend", { method: "POST", json: { email: EMAIL } });

describe("verification mail cannot be used to flood an inbox", () => {
  test(`at most ${EMAIL_CODE_RESENDS_PER_DAY} resends per address and day, the next day again`, async () => {
    await api(t.url, "/api/v1/foundation/users/register", {
      method: "POST",
      json: { email: EMAIL, password: "correct horse battery staple" },
    });
    expect(sent).toBe(1);
    for (let i = 0; i < EMAIL_CODE_RESENDS_PER_DAY; i++) {
      clock.advance(61_000);
      expect((await resend()).status).toBe(202);
    }
    clock.advance(61_000);
    const refused = await resend();
    expect(refused.status).toBe(429);
    expect(sent).toBe(1 + EMAIL_CODE_RESENDS_PER_DAY);

    clock.advance(24 * 3600_000);
    expect((await resend()).status).toBe(202);
    expect(sent).toBe(2 + EMAIL_CODE_RESENDS_PER_DAY);
  });
});
