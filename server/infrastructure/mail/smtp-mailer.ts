/**
 * The SMTP mailer, on nodemailer: one connection per message (mail here is
 * rare, a pool would only hold idle sockets), every network step bounded,
 * TLS as `SmtpSettings.security` says, certificates verified.
 *
 * A failed send is logged with nodemailer's error code, the SMTP command and
 * reply code, and a message from which the code or link is scrubbed; the
 * caller gets a `MailDeliveryError` (no cause attached, so nothing of the
 * SMTP conversation can reach an API answer).
 *
 * @example
 * const mailer = createSmtpMailer({ smtp: config.mail.smtp, from: config.mail.from, logger });
 * await mailer.sendVerificationCode("ada@example.com", "123456");
 */

import nodemailer, { type SMTPTransportOptions } from "nodemailer";
import type { MailAddress, SmtpSettings } from "../../config.ts";
import type { Logger } from "../logger.ts";
import { MailDeliveryError, type Mailer } from "../mailer.ts";
import { type MailMessage, passwordResetMessage, verificationCodeMessage } from "./templates.ts";

export interface SmtpTimeouts {
  /** TCP (and implicit TLS) connection established. */
  connectionMs: number;
  /** The server's 220 greeting after connecting. */
  greetingMs: number;
  /** Inactivity on an open connection. */
  socketMs: number;
  /** Resolving the host name. */
  dnsMs: number;
  /** The whole send, end to end: a server trickling bytes cannot hold a request longer. */
  sendMs: number;
}

/** Short enough that an API request waiting on mail ends well inside a client's patience. */
export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = {
  connectionMs: 10_000,
  greetingMs: 10_000,
  socketMs: 15_000,
  dnsMs: 5_000,
  sendMs: 25_000,
};

/** A reply line longer than this is a broken or hostile server, not mail. */
const MAX_SMTP_RESPONSE_BYTES = 64 * 1024;

export interface SmtpMailerOptions {
  smtp: SmtpSettings;
  from: MailAddress;
  logger: Logger;
  timeouts?: Partial<SmtpTimeouts>;
}

/** The nodemailer transport options for `settings` (exported so the TLS mapping is tested on its own). */
export function smtpTransportOptions(
  settings: SmtpSettings,
  timeouts: SmtpTimeouts = DEFAULT_SMTP_TIMEOUTS,
): SMTPTransportOptions {
  return {
    host: settings.host,
    port: settings.port,
    secure: settings.security === "tls",
    // requireTLS wins over ignoreTLS in nodemailer; each is set only for its own mode anyway.
    requireTLS: settings.security === "starttls",
    ignoreTLS: settings.security === "none",
    // Never fall back to plain text after a failed STARTTLS: that is what an attacker would arrange.
    opportunisticTLS: false,
    tls: { rejectUnauthorized: true, minVersion: "TLSv1.2" },
    ...(settings.auth && { auth: { user: settings.auth.user, pass: settings.auth.pass } }),
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.dnsMs,
    maxResponseSize: MAX_SMTP_RESPONSE_BYTES,
    // Our messages carry no attachments; refuse any path or URL content outright.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  };
}

class SendDeadlineExceeded extends Error {
  readonly code = "ESENDTIMEOUT";
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendDeadlineExceeded(`no answer within ${ms} ms`)), ms);
  });
  // The losing send goes on until its own socket timeout; its failure is nobody's to handle.
  work.catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** What an operator needs to see about a failure, with every secret replaced. */
function describeFailure(error: unknown, secrets: readonly string[]) {
  const scrub = (value: unknown): string | null => {
    if (typeof value !== "string" && typeof value !== "number") return null;
    let text = String(value).slice(0, 500);
    for (const secret of secrets) text = text.split(secret).join("[redacted]");
    return text;
  };
  const fields = (error ?? {}) as {
    code?: unknown;
    command?: unknown;
    responseCode?: unknown;
    message?: unknown;
  };
  return {
    error_code: scrub(fields.code),
    smtp_command: scrub(fields.command),
    smtp_reply_code: typeof fields.responseCode === "number" ? fields.responseCode : null,
    error: scrub(fields.message),
  };
}

/** The link and each of its query values (the token), so a message quoting only the token is scrubbed too. */
function linkSecrets(link: string): string[] {
  try {
    return [link, ...new URL(link).searchParams.values()].filter((value) => value.length >= 8);
  } catch {
    return [link];
  }
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...options.timeouts };
  const transport = nodemailer.createTransport(smtpTransportOptions(options.smtp, timeouts));
  const { logger, from } = options;

  async function deliver(kind: string, to: string, message: MailMessage, secrets: string[]): Promise<void> {
    try {
      const info = await withDeadline(
        transport.sendMail({
          from,
          to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          // RFC 3834: no vacation or out-of-office replies to a robot.
          headers: { "Auto-Submitted": "auto-generated" },
        }),
        timeouts.sendMs,
      );
      logger.debug("mail sent", { kind, recipient_domain: domainOf(to), message_id: info.messageId });
    } catch (error) {
      logger.error("mail delivery failed", {
        kind,
        recipient_domain: domainOf(to),
        smtp_host: options.smtp.host,
        smtp_port: options.smtp.port,
        ...describeFailure(error, secrets),
      });
      throw new MailDeliveryError();
    }
  }

  return {
    sendVerificationCode(email, code) {
      return deliver("verification_code", email, verificationCodeMessage(code), [code]);
    },
    sendPasswordResetLink(email, reset) {
      return deliver(
        "password_reset",
        email,
        passwordResetMessage(reset.link, reset.validForMinutes),
        linkSecrets(reset.link),
      );
    },
  };
}
