/**
 * A LIME server for browser tests whose mail really goes out over SMTP, to
 * an SMTP server in this process: the pages' codes and links are read from
 * the messages it receives, as a person reads them from their inbox.
 */

import { loadConfig } from "../../server/config.ts";
import { createJsonLogger } from "../../server/infrastructure/logger.ts";
import { createSmtpMailer } from "../../server/infrastructure/mail/smtp-mailer.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "../../server/testing.ts";
import { SmtpInbox } from "../server/fixtures/smtp-inbox.ts";

export async function startServerWithInbox(
  options: TestServerOptions = {},
): Promise<{ t: TestServer; inbox: SmtpInbox }> {
  const inbox = await SmtpInbox.start();
  try {
    const { mail } = loadConfig({ SMTP_URL: inbox.url(), PUBLIC_URL: "http://127.0.0.1" });
    const logger = createJsonLogger("error");
    const t = await startTestServer({
      ...options,
      publicUrlIsOwnUrl: true,
      config: { ...options.config, mail },
      extra: { ...options.extra, mailer: createSmtpMailer({ smtp: mail.smtp!, from: mail.from, logger }) },
    });
    return { t, inbox };
  } catch (error) {
    await inbox.stop();
    throw error;
  }
}
