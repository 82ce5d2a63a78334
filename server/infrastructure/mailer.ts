import type { Logger } from "./logger.ts";

/** Outgoing mail. A real provider (SMTP, an API) implements this one method. */
export interface Mailer {
  sendVerificationCode(email: string, code: string): Promise<void>;
}

/**
 * Development mailer: prints the verification code to the server log.
 * This is the one place a secret reaches the log, on purpose, so a local
 * owner can finish registration without a mail server.
 */
export function createLogMailer(logger: Logger): Mailer {
  return {
    async sendVerificationCode(email, code) {
      logger.warn("verification code (development mailer: configure a real Mailer in production)", {
        email,
        code,
      });
    },
  };
}
