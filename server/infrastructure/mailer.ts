import { DomainError } from "../errors.ts";
import type { Logger } from "./logger.ts";

/** What a password-reset message needs: the link to open and how long it works. */
export interface PasswordResetMail {
  link: string;
  validForMinutes: number;
}

/**
 * Outgoing mail. Implemented by the development log mailer (below) and the
 * SMTP mailer (`mail/smtp-mailer.ts`). A send that fails throws
 * `MailDeliveryError`; callers decide what the API answers then
 * (docs/decisions/mail-delivery-failure.md).
 */
export interface Mailer {
  sendVerificationCode(email: string, code: string): Promise<void>;
  sendPasswordResetLink(email: string, reset: PasswordResetMail): Promise<void>;
}

/**
 * The mail server did not take the message. A DomainError, so one that
 * escapes a route is answered `503 EMAIL_DELIVERY_FAILED`, never a 500;
 * it carries no detail (the cause is in the server log, without the secret).
 */
export class MailDeliveryError extends DomainError {
  constructor() {
    super("EMAIL_DELIVERY_FAILED", "The email could not be sent; try again later.");
    this.name = "MailDeliveryError";
  }
}

/**
 * Development mailer: prints the verification code or the reset link to the
 * server log. This is the one place a secret reaches the log, on purpose, so
 * a local owner can finish registration or a reset without a mail server.
 * The README's walkthrough greps these messages and reads `code` / `link`.
 */
export function createLogMailer(logger: Logger): Mailer {
  return {
    async sendVerificationCode(email, code) {
      logger.warn("verification code (development mailer: set SMTP_URL to send real mail)", {
        email,
        code,
      });
    },
    async sendPasswordResetLink(email, reset) {
      logger.warn("password reset link (development mailer: set SMTP_URL to send real mail)", {
        email,
        link: reset.link,
      });
    },
  };
}
