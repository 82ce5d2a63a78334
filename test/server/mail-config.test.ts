/**
 * SMTP_URL, SMTP_ALLOW_PLAINTEXT, MAIL_FROM and PASSWORD_RESET_TTL_SECONDS are
 * checked at boot, and the TLS policy they produce is the one nodemailer gets.
 */

import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../server/config.ts";
import { smtpTransportOptions } from "../../server/infrastructure/mail/smtp-mailer.ts";

const PASSWORD = "hunter2-very-secret";

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("configuration was accepted");
}

const smtp = (url: string, extra: Record<string, string> = {}) =>
  loadConfig({ SMTP_URL: url, ...extra }).mail.smtp!;

describe("SMTP_URL", () => {
  test("unset: no SMTP, mail goes to the log (the development default)", () => {
    expect(loadConfig({}).mail.smtp).toBeNull();
    expect(loadConfig({ SMTP_URL: "  " }).mail.smtp).toBeNull();
  });

  test("smtp:// off loopback requires STARTTLS, on 587 by default; nodemailer is told to refuse a plain session", () => {
    const settings = smtp("smtp://mail.example.com");
    expect(settings).toEqual({ host: "mail.example.com", port: 587, security: "starttls", auth: null });
    const options = smtpTransportOptions(settings);
    expect(options).toMatchObject({
      secure: false,
      requireTLS: true,
      ignoreTLS: false,
      opportunisticTLS: false,
    });
    expect(options.tls).toMatchObject({ rejectUnauthorized: true, minVersion: "TLSv1.2" });
  });

  test("smtps:// is TLS from the first byte, on 465 by default; credentials are percent-decoded", () => {
    const settings = smtp(`smtps://mailer%40id.example:${encodeURIComponent("p@ss:/w?#")}@mail.example.com`);
    expect(settings).toEqual({
      host: "mail.example.com",
      port: 465,
      security: "tls",
      auth: { user: "mailer@id.example", pass: "p@ss:/w?#" },
    });
    expect(smtpTransportOptions(settings)).toMatchObject({ secure: true, auth: settings.auth });
    expect(smtp("smtps://127.0.0.1:2465").security).toBe("tls");
  });

  test.each(["smtp://127.0.0.1:2525", "smtp://127.1.2.3", "smtp://localhost:25", "smtp://[::1]:2525"])(
    "%s: a loopback host may speak plain SMTP (the traffic never leaves the machine)",
    (url) => {
      const settings = smtp(url);
      expect(settings.security).toBe("none");
      expect(smtpTransportOptions(settings)).toMatchObject({ requireTLS: false, ignoreTLS: true });
    },
  );

  test("a name that merely starts like loopback is not loopback", () => {
    expect(smtp("smtp://127.0.0.1.example.com").security).toBe("starttls");
    expect(smtp("smtp://localhost.example.com").security).toBe("starttls");
  });

  test("SMTP_ALLOW_PLAINTEXT=on allows plain SMTP off loopback: STARTTLS when offered, never a fallback after a failed one", () => {
    const settings = smtp("smtp://relay.internal:25", { SMTP_ALLOW_PLAINTEXT: "on" });
    expect(settings.security).toBe("starttls-if-offered");
    expect(smtpTransportOptions(settings)).toMatchObject({
      requireTLS: false,
      ignoreTLS: false,
      opportunisticTLS: false,
    });
    expect(smtp("smtp://relay.internal:25", { SMTP_ALLOW_PLAINTEXT: "off" }).security).toBe("starttls");
  });

  test("every network step has a bound", () => {
    const options = smtpTransportOptions(smtp("smtp://mail.example.com"));
    for (const key of ["connectionTimeout", "greetingTimeout", "socketTimeout", "dnsTimeout"] as const) {
      expect(options[key]).toBeGreaterThan(0);
      expect(options[key]).toBeLessThanOrEqual(30_000);
    }
  });

  test.each([
    ["not a url"],
    [`http://user:${PASSWORD}@mail.example.com`],
    [`smtp://user:${PASSWORD}@mail.example.com/path`],
    [`smtp://user:${PASSWORD}@mail.example.com?tls.rejectUnauthorized=false`],
    [`smtp://user:${PASSWORD}@mail.example.com#x`],
    [`smtp://:${PASSWORD}@mail.example.com`],
    [`smtp://user:${PASSWORD}%E0%A4%A@mail.example.com`],
    [`smtp://user:${PASSWORD}@mail.example.com:99999`],
  ])("%s is refused naming SMTP_URL, without echoing the value", (url) => {
    const error = refusal({ SMTP_URL: url });
    expect(error.variable).toBe("SMTP_URL");
    expect(error.message).toStartWith("SMTP_URL:");
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain("mail.example.com");
  });

  test("SMTP_ALLOW_PLAINTEXT takes on or off only", () => {
    expect(refusal({ SMTP_URL: "smtp://mail.example.com", SMTP_ALLOW_PLAINTEXT: "yes" }).variable).toBe(
      "SMTP_ALLOW_PLAINTEXT",
    );
  });
});

describe("MAIL_FROM", () => {
  test("defaults to LIME <no-reply@the host of PUBLIC_URL>, an address literal for an IP host", () => {
    expect(loadConfig({}).mail.from).toEqual({ name: "LIME", address: "no-reply@localhost" });
    expect(loadConfig({ PUBLIC_URL: "https://id.example/lime" }).mail.from).toEqual({
      name: "LIME",
      address: "no-reply@id.example",
    });
    expect(loadConfig({ PUBLIC_URL: "http://127.0.0.1:3000" }).mail.from.address).toBe(
      "no-reply@[127.0.0.1]",
    );
    expect(loadConfig({ PUBLIC_URL: "http://[::1]:3000" }).mail.from.address).toBe("no-reply@[IPv6:::1]");
  });

  test.each([
    ["support@id.example", { name: "", address: "support@id.example" }],
    ["LIME Support <support@id.example>", { name: "LIME Support", address: "support@id.example" }],
    ['"Support, LIME" <support@id.example>', { name: "Support, LIME", address: "support@id.example" }],
    ["<support@id.example>", { name: "", address: "support@id.example" }],
  ])("%s is parsed", (value, from) => {
    expect(loadConfig({ MAIL_FROM: value }).mail.from).toEqual(from);
  });

  test.each([
    ["support@id.example\r\nBcc: everyone@example.com"],
    ["LIME <support@id.example>\nX: y"],
    ["no address here"],
    ["LIME <>"],
    ["a@b@c"],
    ["LIME <support@id.example"],
    [`${"x".repeat(320)}@id.example`],
  ])("%j is refused naming MAIL_FROM", (value) => {
    expect(refusal({ MAIL_FROM: value }).variable).toBe("MAIL_FROM");
  });
});

describe("PASSWORD_RESET_TTL_SECONDS", () => {
  test("30 minutes by default, 5 minutes to a day", () => {
    expect(loadConfig({}).lifetimes.passwordResetMs).toBe(1_800_000);
    expect(loadConfig({ PASSWORD_RESET_TTL_SECONDS: "300" }).lifetimes.passwordResetMs).toBe(300_000);
    for (const value of ["299", "86401", "ten"]) {
      expect(refusal({ PASSWORD_RESET_TTL_SECONDS: value }).variable).toBe("PASSWORD_RESET_TTL_SECONDS");
    }
  });
});
