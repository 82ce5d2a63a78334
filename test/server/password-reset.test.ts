/**
 * The password-reset API beyond the mail itself (that is in
 * email-smtp.test.ts): input bounds, single use under concurrency, rate
 * limits, the audit trail, the purge, and owners who never verified.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  PASSWORD_RESET_REQUESTS_PER_DAY,
  PASSWORD_RESET_REQUESTS_PER_MINUTE,
} from "../../server/foundation/users/password-reset.ts";
import { ForgotPasswordBody, ResetPasswordBody } from "../../server/foundation/users/schemas.ts";
import type { LogFields } from "../../server/infrastructure/logger.ts";
import { createLogMailer } from "../../server/infrastructure/mailer.ts";
import { FakeClock, startTestServer, type TestServer } from "../../server/testing.ts";
import { api, countRows } from "./helpers.ts";

const USERS = "/api/v1/foundation/users";
const OLD_PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a different, longer passphrase";

let t: TestServer;
let clock: FakeClock;

beforeEach(async () => {
  clock = new FakeClock(Date.UTC(2031, 4, 14, 12, 0, 0));
  t = await startTestServer({ clock });
});
afterEach(async () => {
  await t.stop();
});

const post = (path: string, json: unknown) => api(t.url, `${USERS}${path}`, { method: "POST", json });

async function forgot(email: string): Promise<string> {
  expect((await post("/password/forgot", { email })).status).toBe(202);
  return t.mailer.resetToken(email)!;
}

/** Everything a rejected request must leave as it was. */
function state(): string {
  return JSON.stringify({
    users: t.db.query("SELECT id, password_hash, email_verified_at, kyc_level FROM users ORDER BY id").all(),
    resets: t.db.query("SELECT id, used_at FROM password_reset_tokens ORDER BY id").all(),
    sessions: countRows(t.db, "sessions"),
  });
}

describe("password reset: input", () => {
  test("bad bodies are 400 with a stable code, and change nothing", async () => {
    const { sessionToken } = await t.registerOwner("bounds@example.test", OLD_PASSWORD);
    const token = await forgot("bounds@example.test");
    const before = state();
    const cases: [unknown, string, string][] = [
      [{ token, password: "short" }, "VALIDATION_FAILED", "password"],
      [{ token, password: "x".repeat(257) }, "VALIDATION_FAILED", "password"],
      [{ token: "x".repeat(257), password: NEW_PASSWORD }, "VALIDATION_FAILED", "token"],
      [{ password: NEW_PASSWORD }, "VALIDATION_FAILED", "token"],
      [{ token: "lime_reset_tooShort", password: NEW_PASSWORD }, "PASSWORD_RESET_TOKEN_INVALID", ""],
      [
        { token: `lime_session_${token.slice(11)}`, password: NEW_PASSWORD },
        "PASSWORD_RESET_TOKEN_INVALID",
        "",
      ],
      [
        { token: `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`, password: NEW_PASSWORD },
        "PASSWORD_RESET_TOKEN_INVALID",
        "",
      ],
    ];
    for (const [body, code, field] of cases) {
      const response = await post("/password/reset", body);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe(code);
      if (field) expect(response.body.error.detail.field).toBe(field);
      expect(JSON.stringify(response.body)).not.toContain(token);
    }
    const badEmail = await post("/password/forgot", { email: "not an address" });
    expect(badEmail.status).toBe(400);
    expect(badEmail.body.error.code).toBe("VALIDATION_FAILED");
    expect(state()).toBe(before);
    const me = await api(t.url, `${USERS}/me`, { headers: { authorization: `Bearer ${sessionToken}` } });
    expect(me.status).toBe(200);
  });

  test("the body schemas are exported for web forms, and are the ones the routes enforce", () => {
    expect(Object.keys(ForgotPasswordBody.properties)).toEqual(["email"]);
    expect(Object.keys(ResetPasswordBody.properties).sort()).toEqual(["password", "token"]);
    expect(ResetPasswordBody.properties.password.minLength).toBe(8);
  });
});

describe("password reset: single use", () => {
  test("of ten concurrent resets with one token exactly one succeeds, and its password is the one that works", async () => {
    await t.registerOwner("race@example.test", OLD_PASSWORD);
    const token = await forgot("race@example.test");
    const passwords = Array.from({ length: 10 }, (_, i) => `racing passphrase number ${i}`);
    const answers = await Promise.all(
      passwords.map((password) => post("/password/reset", { token, password })),
    );
    const winners = answers.flatMap((answer, i) => (answer.status === 200 ? [passwords[i]!] : []));
    expect(winners).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("PASSWORD_RESET_TOKEN_INVALID");
    }
    const login = await post("/login", { email: "race@example.test", password: winners[0] });
    expect(login.status).toBe(200);
  });
});

describe("password reset: owners who never verified", () => {
  test("following the link verifies the address: login works and the KYC level is 1", async () => {
    const email = "unverified@example.test";
    expect((await post("/register", { email, password: OLD_PASSWORD })).status).toBe(201);
    expect((await post("/login", { email, password: OLD_PASSWORD })).body.error.code).toBe(
      "EMAIL_NOT_VERIFIED",
    );
    const reset = await post("/password/reset", { token: await forgot(email), password: NEW_PASSWORD });
    expect(reset.body.data).toMatchObject({ email_verified: true, kyc_level: 1 });
    expect((await post("/login", { email, password: NEW_PASSWORD })).status).toBe(200);
    // The registration code has nothing left to prove.
    expect(countRows(t.db, "email_codes")).toBe(0);
  });
});

describe("password reset: rate limits", () => {
  test(`at most ${PASSWORD_RESET_REQUESTS_PER_MINUTE} mails per address a minute and ${PASSWORD_RESET_REQUESTS_PER_DAY} a day; unknown addresses count the same`, async () => {
    for (const email of ["limited@example.test", "unknown-limited@example.test"]) {
      if (email.startsWith("limited")) await t.registerOwner(email, OLD_PASSWORD);
      for (let i = 0; i < PASSWORD_RESET_REQUESTS_PER_MINUTE; i++) {
        expect((await post("/password/forgot", { email })).status).toBe(202);
      }
      const refused = await post("/password/forgot", { email });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("RATE_LIMIT_EXCEEDED");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    }

    const email = "daily@example.test";
    await t.registerOwner(email, OLD_PASSWORD);
    const tokens = new Set<string>();
    for (let i = 0; i < PASSWORD_RESET_REQUESTS_PER_DAY; i++) {
      clock.advance(61_000);
      tokens.add(await forgot(email));
    }
    expect(tokens.size).toBe(PASSWORD_RESET_REQUESTS_PER_DAY);
    clock.advance(61_000);
    expect((await post("/password/forgot", { email })).status).toBe(429);
    clock.advance(24 * 3600_000);
    expect((await post("/password/forgot", { email })).status).toBe(202);
  });
});

describe("password reset: audit and housekeeping", () => {
  test("requests, rejections and the completed reset are in the owner's trail, without the token", async () => {
    const email = "audited@example.test";
    await t.registerOwner(email, OLD_PASSWORD);
    const stale = await forgot(email);
    const token = await forgot(email);
    expect((await post("/password/reset", { token: stale, password: NEW_PASSWORD })).status).toBe(400);
    clock.advance(1000);
    expect((await post("/password/reset", { token, password: NEW_PASSWORD })).status).toBe(200);
    expect((await post("/password/reset", { token, password: NEW_PASSWORD })).status).toBe(400);
    const session = (await post("/login", { email, password: NEW_PASSWORD })).body.data.session_token;
    const audit = await api(t.url, "/api/v1/foundation/audit", {
      headers: { authorization: `Bearer ${session}` },
    });
    const events = (audit.body.data.events as { action: string; outcome: string; reason: string | null }[])
      .map((event) => [event.action, event.outcome, event.reason])
      .filter(([action]) => String(action).startsWith("user.password_reset"));
    expect(events).toEqual([
      ["user.password_reset_rejected", "failure", "PASSWORD_RESET_TOKEN_INVALID"],
      ["user.password_reset_completed", "success", null],
      ["user.password_reset_requested", "success", null],
      ["user.password_reset_requested", "success", null],
    ]);
    // The stale token was replaced, not used: it is refused without a trace on the owner's trail.
    const everything = JSON.stringify(t.db.query("SELECT * FROM audit_events").all());
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(stale);
  });

  test("maintenance purges expired tokens; live ones stay", async () => {
    await t.registerOwner("purge-a@example.test", OLD_PASSWORD);
    await t.registerOwner("purge-b@example.test", OLD_PASSWORD);
    await forgot("purge-a@example.test");
    clock.advance(t.config.lifetimes.passwordResetMs / 2);
    await forgot("purge-b@example.test");
    clock.advance(t.config.lifetimes.passwordResetMs / 2);
    expect(countRows(t.db, "password_reset_tokens")).toBe(2);
    await t.server.maintain();
    expect(countRows(t.db, "password_reset_tokens")).toBe(1);
    const live = t.mailer.resetToken("purge-b@example.test")!;
    expect((await post("/password/reset", { token: live, password: NEW_PASSWORD })).status).toBe(200);
  });

  test("the token is stored only as its SHA-256", async () => {
    await t.registerOwner("hashed@example.test", OLD_PASSWORD);
    const token = await forgot("hashed@example.test");
    const rows = t.db.query("SELECT * FROM password_reset_tokens").all() as { token_hash: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(new Bun.CryptoHasher("sha256").update(token).digest("hex"));
    expect(JSON.stringify(rows)).not.toContain(token);
  });
});

describe("the development mailer", () => {
  test("writes the reset link to the log, where a local owner finds it (message 'password reset link…', field link)", async () => {
    const lines: { message: string; fields: LogFields }[] = [];
    const keep = (message: string, fields: LogFields = {}) => lines.push({ message, fields });
    const mailer = createLogMailer({ debug: keep, info: keep, warn: keep, error: keep });
    await mailer.sendPasswordResetLink("ada@example.test", {
      link: "http://localhost:3000/reset-password?token=lime_reset_x",
      validForMinutes: 30,
    });
    await mailer.sendVerificationCode("ada@example.test", "123456");
    expect(lines.map((line) => [line.message.split(" (")[0], line.fields])).toEqual([
      [
        "password reset link",
        { email: "ada@example.test", link: "http://localhost:3000/reset-password?token=lime_reset_x" },
      ],
      ["verification code", { email: "ada@example.test", code: "123456" }],
    ]);
  });
});
