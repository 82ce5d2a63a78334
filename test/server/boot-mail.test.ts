/**
 * `server/main.ts` picks the mailer from the environment: the SMTP mailer
 * with SMTP_URL, the development log mailer without (the README walkthrough
 * reads the code from that log line). Both run the real entry point.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { type MainProcess, startMainProcess } from "../support/main-process.ts";
import { SmtpInbox, verificationCodeIn } from "./fixtures/smtp-inbox.ts";

const SMTP_PASSWORD = "boot-test-smtp-secret";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startMain(env: Record<string, string>): Promise<MainProcess> {
  const main = await startMainProcess(env);
  cleanups.push(() => main.stop());
  return main;
}

async function register(base: string, email: string): Promise<number> {
  const response = await fetch(`${base}/api/v1/foundation/users/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "correct horse battery staple" }),
  });
  await response.body?.cancel();
  return response.status;
}

/** Parsed JSON log lines with this message prefix. */
function linesStartingWith(log: string, prefix: string): Record<string, unknown>[] {
  return log
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => String(line.message).startsWith(prefix));
}

describe("server/main.ts mailer", () => {
  test("with SMTP_URL the code goes out by SMTP and nowhere else; the boot line names host and port, not the password", async () => {
    const inbox = await SmtpInbox.start({ credentials: { user: "lime", pass: SMTP_PASSWORD } });
    cleanups.push(() => inbox.stop());
    const server = await startMain({ SMTP_URL: inbox.url(), PUBLIC_URL: "https://lime.test" });

    expect(await register(server.url, "ada@example.test")).toBe(201);
    const mail = inbox.lastTo("ada@example.test")!;
    expect(mail.envelopeFrom).toBe("no-reply@lime.test");
    expect(verificationCodeIn(mail)).toMatch(/^\d{6}$/);

    const [listening] = linesStartingWith(server.log(), "LIME identity server listening");
    expect(listening?.mail).toBe(`smtp 127.0.0.1:${inbox.listeningPort} (none)`);
    expect(server.log()).not.toContain(SMTP_PASSWORD);
    expect(linesStartingWith(server.log(), "verification code")).toEqual([]);
  });

  test("without SMTP_URL the code is in the log line the README greps: message 'verification code…', field code", async () => {
    const server = await startMain({});
    expect(await register(server.url, "grace@example.test")).toBe(201);
    const log = await server.waitForLog((text) => text.includes('"email":"grace@example.test"'));
    const [line] = linesStartingWith(log, "verification code").filter(
      (entry) => entry.email === "grace@example.test",
    );
    expect(String(line?.code)).toMatch(/^\d{6}$/);
    const [listening] = linesStartingWith(server.log(), "LIME identity server listening");
    expect(listening?.mail).toBe("log (development)");
  });
});
