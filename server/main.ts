/**
 * Entry point: read the environment, open the database, build the app with
 * `createApp`, listen. Invalid configuration stops here with the variable's name.
 */

import { createApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { loadDevelopmentKek } from "./infrastructure/crypto/development-kek.ts";
import { createJsonLogger } from "./infrastructure/logger.ts";
import { createSmtpMailer } from "./infrastructure/mail/smtp-mailer.ts";
import { createLogMailer } from "./infrastructure/mailer.ts";
import { redactRedisUrl } from "./infrastructure/redis/connection.ts";
import { openRedisSharedState } from "./infrastructure/redis/shared-state.ts";
import { createSqliteAgentLoginStore } from "./infrastructure/sqlite/agent-login-store.ts";
import { openDatabase } from "./infrastructure/sqlite/database.ts";

const logger = createJsonLogger();

try {
  const config = loadConfig(process.env);
  const db = openDatabase(config.databasePath);
  const keyEncryptionKey = config.keyEncryptionKey ?? loadDevelopmentKek(config.databasePath, logger);
  // With REDIS_URL, rate limits and outcome fan-out are shared with the other instances; the fan-out reads
  // outcomes back from the same SQL store the app uses (docs/decisions/server-redis.md).
  const agentLogin = createSqliteAgentLoginStore(db);
  const shared =
    config.redisUrl === null
      ? null
      : await openRedisSharedState({ url: config.redisUrl, logger, agentLogin });
  // Without SMTP_URL codes and reset links go to this log: right for a laptop, wrong for real owners.
  const mailer =
    config.mail.smtp === null
      ? createLogMailer(logger)
      : createSmtpMailer({ smtp: config.mail.smtp, from: config.mail.from, logger });
  if (config.mail.smtp === null && config.production) {
    logger.warn("SMTP_URL is unset: verification codes and reset links are written to this log");
  }
  const server = await createApp({
    config,
    db,
    keyEncryptionKey,
    logger,
    mailer,
    ...(shared && { stores: { agentLogin }, rateLimitStore: shared.rateLimitStore, fanout: shared.fanout }),
  });
  const { port } = await server.listen();
  logger.info("LIME identity server listening", {
    port,
    host: config.hostname,
    issuer: config.publicUrl,
    database: config.databasePath,
    email_verification: config.emailVerification ? "on" : "off",
    admin_api: config.adminToken === null ? "off" : "on",
    shared_state: config.redisUrl === null ? "memory (one instance)" : redactRedisUrl(config.redisUrl),
    // Host, port and TLS mode only: SMTP_URL may carry a password.
    mail:
      config.mail.smtp === null
        ? "log (development)"
        : `smtp ${config.mail.smtp.host}:${config.mail.smtp.port} (${config.mail.smtp.security})`,
  });
  const shutdown = async (signal: string) => {
    logger.info("shutting down", { signal });
    await server.stop();
    await shared?.close();
    db.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
  } else {
    process.stderr.write(`Cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
}
