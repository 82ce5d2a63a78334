/**
 * Real mail, end to end: the server is configured with SMTP_URL pointing at
 * an SMTP server running in this process (test/server/fixtures/smtp-inbox.ts),
 * and every code and link is read from the messages that server received.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../../server/config.ts";
import type { LogFields, Logger } from "../../server/infrastructure/logger.ts";
import { createSmtpMailer, type SmtpTimeouts } from "../../server/infrastructure/mail/smtp-mailer.ts";
import { MailDeliveryError } from "../../server/infrastructure/mailer.ts";
import { FakeClock, startTestServer, type TestServer } from "../../server/testing.ts";
import { resetLinkIn, SmtpInbox, startSilentServer, verificationCodeIn } from "./fixtures/smtp-inbox.ts";
import { api, countRows } from "./helpers.ts";

const USERS = "/api/v1/foundation/users";
const PUBLIC_URL = "https://lime.test";
const SMTP_CREDENTIALS = { user: "lime-mailer", pass: "p@ss word:/with?odd#chars" };
const OLD_PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a different, longer passphrase";

interface LogLine {
  level: string;
  message: string;
  fields: LogFields;
}

function capturingLogger(lines: LogLine[]): Logger {
  const keep =
    (level: string) =>
    (message: string, fields: LogFields = {}) => {
      lines.push({ level, message, fields });
    };
  return { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") };
}

let inbox: SmtpInbox;
let t: TestServer;
let clock: FakeClock;
let logs: LogLine[];

/** A server whose mailer is built from SMTP_URL exactly as `main.ts` builds it. */
async function startServer(smtpUrl: string, timeouts?: Partial<SmtpTimeouts>): Promise<TestServer> {
  const { mail, publicUrl } = loadConfig({ SMTP_URL: smtpUrl, PUBLIC_URL });
  const logger = capturingLogger(logs);
  return startTestServer({
    clock,
    logger,
    config: { publicUrl, mail },
    extra: { mailer: createSmtpMailer({ smtp: mail.smtp!, from: mail.from, logger, timeouts }) },
  });
}

beforeEach(async () => {
  clock = new FakeClock();
  logs = [];
  inbox = await SmtpInbox.start({ credentials: SMTP_CREDENTIALS });
  t = await startServer(inbox.url());
});
afterEach(async () => {
  await t.stop();
  await inbox.stop();
});

const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
  api(t.url, `${USERS}${path}`, { method: "POST", json, headers });

/** Registers `email`, verifies it with the code from the mail, and returns that mail. */
async function registerVerified(email: string) {
  const registered = await post("/register", { email, password: OLD_PASSWORD });
  expect(registered.status).toBe(201);
  const mail = inbox.lastTo(email)!;
  const verified = await post("/register/verify", { email, code: verificationCodeIn(mail) });
  expect(verified.status).toBe(200);
  return mail;
}

async function login(email: string, password: string) {
  return post("/login", { email, password });
}

async function forgotAndReadLink(email: string): Promise<{ link: string; token: string }> {
  const before = inbox.to(email).length;
  const asked = await post("/password/forgot", { email });
  expect(asked.status).toBe(202);
  expect(asked.body).toEqual({ ok: true, data: { accepted: true } });
  expect(inbox.to(email)).toHaveLength(before + 1);
  const link = resetLinkIn(inbox.lastTo(email)!);
  return { link, token: new URL(link).searchParams.get("token")! };
}

describe("registration mail over SMTP", () => {
  test("the code arrives from MAIL_FROM, as text and HTML without remote content, and verifies", async () => {
    const email = "ada@example.test";
    const mail = await registerVerified(email);
    expect(inbox.messages).toHaveLength(1);
    expect(inbox.authAttempts).toEqual([SMTP_CREDENTIALS]);
    expect(mail.envelopeFrom).toBe("no-reply@lime.test");
    expect(mail.parsed.from?.value).toEqual([{ name: "LIME", address: "no-reply@lime.test" }]);
    expect(mail.parsed.subject).toBe("Confirm your email address for LIME");
    expect(mail.parsed.headers.get("auto-submitted")).toBe("auto-generated");
    const code = verificationCodeIn(mail);
    expect(mail.html).toContain(`>${code}</p>`);
    expect(mail.html).not.toMatch(/<img|src=|url\(|<link|<script/i);
    expect((await login(email, OLD_PASSWORD)).body.data.user).toMatchObject({ email_verified: true });
  });
});

describe("password reset by email", () => {
  test("forgot → mail → reset: the old password is refused, the new one works, every old session is closed", async () => {
    const email = "grace@example.test";
    await registerVerified(email);
    const sessions = [await login(email, OLD_PASSWORD), await login(email, OLD_PASSWORD)].map(
      (response) => response.body.data.session_token as string,
    );

    const { link, token } = await forgotAndReadLink(email);
    expect(link).toBe(`${PUBLIC_URL}/reset-password?token=${token}`);
    expect(token).toMatch(/^lime_reset_[A-Za-z0-9_-]{43}$/);
    const mail = inbox.lastTo(email)!;
    expect(mail.parsed.subject).toBe("Reset your LIME password");
    expect(mail.text).toContain("works once, for 30 minutes");
    expect(mail.html).toContain(`href="${link}"`);
    expect(mail.html).not.toMatch(/<img|src=|url\(|<link|<script/i);

    const reset = await post("/password/reset", { token, password: NEW_PASSWORD });
    expect(reset.status).toBe(200);
    expect(reset.body.data).toMatchObject({ email, email_verified: true });
    for (const cookie of ["lime_session=;", "lime_csrf=;"]) {
      expect(
        reset.headers.getSetCookie().some((line) => line.startsWith(cookie) && /Max-Age=0/i.test(line)),
      ).toBe(true);
    }

    for (const session of sessions) {
      const me = await api(t.url, `${USERS}/me`, { headers: { authorization: `Bearer ${session}` } });
      expect(me.status).toBe(401);
      expect(me.body.error.code).toBe("SESSION_INVALID");
    }
    const old = await login(email, OLD_PASSWORD);
    expect(old.status).toBe(401);
    expect(old.body.error.code).toBe("INVALID_CREDENTIALS");
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);

    const reused = await post("/password/reset", { token, password: "yet another passphrase" });
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe("PASSWORD_RESET_TOKEN_INVALID");
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
  });

  test("an unknown address gets the same 202 and no mail", async () => {
    const known = "known@example.test";
    await registerVerified(known);
    const sent = inbox.messages.length;
    const unknown = await post("/password/forgot", { email: "nobody@example.test" });
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual({ ok: true, data: { accepted: true } });
    expect(inbox.messages).toHaveLength(sent);
    expect(countRows(t.db, "password_reset_tokens")).toBe(0);
    // The control: the same request for a known address does send (and so would have, above).
    await forgotAndReadLink(known);
    expect(inbox.messages).toHaveLength(sent + 1);
  });

  test("an expired link is refused with 410 and changes nothing", async () => {
    const email = "expired@example.test";
    await registerVerified(email);
    const { token } = await forgotAndReadLink(email);
    clock.advance(t.config.lifetimes.passwordResetMs);
    const late = await post("/password/reset", { token, password: NEW_PASSWORD });
    expect(late.status).toBe(410);
    expect(late.body.error.code).toBe("PASSWORD_RESET_TOKEN_EXPIRED");
    expect((await login(email, OLD_PASSWORD)).status).toBe(200);
  });

  test("a new request voids the older link: only the newest works", async () => {
    const email = "twice@example.test";
    await registerVerified(email);
    const first = await forgotAndReadLink(email);
    const second = await forgotAndReadLink(email);
    expect(second.token).not.toBe(first.token);
    const stale = await post("/password/reset", { token: first.token, password: NEW_PASSWORD });
    expect(stale.status).toBe(400);
    expect(stale.body.error.code).toBe("PASSWORD_RESET_TOKEN_INVALID");
    expect((await post("/password/reset", { token: second.token, password: NEW_PASSWORD })).status).toBe(200);
  });
});

describe("when mail cannot be sent", () => {
  test("SMTP server down: register is a clean 503 that writes nothing; forgot and resend stay 202; earlier secrets still work", async () => {
    const verified = "verified@example.test";
    await registerVerified(verified);
    const earlierLink = await forgotAndReadLink(verified);
    const pending = "pending@example.test";
    expect((await post("/register", { email: pending, password: OLD_PASSWORD })).status).toBe(201);
    const earlierCode = verificationCodeIn(inbox.lastTo(pending)!);
    const rows = () =>
      ["users", "email_codes", "password_reset_tokens", "sessions"].map((table) => countRows(t.db, table));
    const before = rows();

    await inbox.stop();

    const refused = await post("/register", { email: "newcomer@example.test", password: OLD_PASSWORD });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({
      ok: false,
      error: {
        code: "EMAIL_DELIVERY_FAILED",
        message: "The email could not be sent; try again later.",
        detail: {},
      },
    });
    expect((await post("/password/forgot", { email: verified })).status).toBe(202);
    expect((await post("/register/resend", { email: pending })).status).toBe(202);
    expect(rows()).toEqual(before);

    const failures = logs.filter((line) => line.message === "mail delivery failed");
    expect(failures.map((line) => line.fields.kind)).toEqual([
      "verification_code",
      "password_reset",
      "verification_code",
    ]);
    for (const line of failures) {
      expect(line.fields).toMatchObject({ error_code: "ESOCKET", recipient_domain: "example.test" });
      expect(Object.keys(line.fields).sort()).toEqual(
        [
          "error",
          "error_code",
          "kind",
          "recipient_domain",
          "smtp_command",
          "smtp_host",
          "smtp_port",
          "smtp_reply_code",
        ].sort(),
      );
    }
    expect(JSON.stringify(logs)).not.toContain(SMTP_CREDENTIALS.pass);

    // Nothing half-written: the code and the link mailed before the outage still work.
    expect((await post("/register/verify", { email: pending, code: earlierCode })).status).toBe(200);
    expect((await post("/password/reset", { token: earlierLink.token, password: NEW_PASSWORD })).status).toBe(
      200,
    );
  });

  test("a server that refuses the message, quoting the secret: the log keeps only a scrubbed reply", async () => {
    const email = "quoted@example.test";
    await registerVerified(email);
    inbox.rejectQuotingSecret = true;

    expect((await post("/password/forgot", { email })).status).toBe(202);
    expect(countRows(t.db, "password_reset_tokens")).toBe(0);
    const refused = await post("/register", { email: "other@example.test", password: OLD_PASSWORD });
    expect(refused.status).toBe(503);
    expect(countRows(t.db, "users")).toBe(1);

    const failures = logs.filter((line) => line.message === "mail delivery failed");
    expect(failures).toHaveLength(2);
    for (const line of failures) {
      expect(line.fields.smtp_reply_code).toBe(550);
      expect(String(line.fields.error)).toContain("rejected, it contains [redacted]");
    }
    expect(JSON.stringify(failures)).not.toMatch(/lime_reset_|contains \d{6}/);
  });

  test("a server that never greets: the send gives up at the greeting timeout, and register answers 503", async () => {
    const silent = await startSilentServer();
    const stuck = await startServer(`smtp://127.0.0.1:${silent.port}`, { greetingMs: 300, sendMs: 5000 });
    try {
      const refused = await api(stuck.url, `${USERS}/register`, {
        method: "POST",
        json: { email: "patient@example.test", password: OLD_PASSWORD },
      });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe("EMAIL_DELIVERY_FAILED");
      expect(countRows(stuck.db, "users")).toBe(0);
      expect(logs.find((line) => line.message === "mail delivery failed")?.fields.error_code).toBe(
        "ETIMEDOUT",
      );
    } finally {
      await stuck.stop();
      await silent.stop();
    }
  });

  test("TLS required: a server that offers no STARTTLS gets neither the credentials nor the message", async () => {
    const mailer = createSmtpMailer({
      smtp: { host: "127.0.0.1", port: inbox.listeningPort, security: "starttls", auth: SMTP_CREDENTIALS },
      from: { name: "LIME", address: "no-reply@lime.test" },
      logger: capturingLogger(logs),
    });
    await expect(mailer.sendVerificationCode("tls@example.test", "123456")).rejects.toBeInstanceOf(
      MailDeliveryError,
    );
    expect(inbox.messages).toHaveLength(0);
    expect(inbox.authAttempts).toHaveLength(0);
    expect(logs.find((line) => line.message === "mail delivery failed")?.fields.error_code).toBe("ETLS");
  });
});
