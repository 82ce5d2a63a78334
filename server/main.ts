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
import { openStorage } from "./infrastructure/open-stores.ts";
import { redactDatabaseUrl } from "./infrastructure/postgres/connection.ts";
import { redactRedisUrl } from "./infrastructure/redis/connection.ts";
import { openRedisSharedState } from "./infrastructure/redis/shared-state.ts";

const logger = createJsonLogger();

try {
  const config = loadConfig(process.env);
  // DATABASE_URL: PostgreSQL, and no SQLite file anywhere; otherwise the SQLite file at DATABASE_PATH.
  const storage = await openStorage(config, logger);
  // loadConfig demands LIME_KEY_ENCRYPTION_KEY with DATABASE_URL, so the development file is SQLite's alone.
  const keyEncryptionKey = config.keyEncryptionKey ?? loadDevelopmentKek(config.databasePath, logger);
  // Rate limits and outcome fan-out are shared with the other instances through Redis when REDIS_URL is
  // set, else through PostgreSQL; the fan-out reads outcomes back from the same SQL store the app uses
  // (docs/decisions/server-redis.md, docs/decisions/server-postgres.md). On SQLite alone they stay in memory.
  const redis =
    config.redisUrl === null
      ? null
      : await openRedisSharedState({ url: config.redisUrl, logger, agentLogin: storage.stores.agentLogin });
  const shared = redis ?? (await storage.openSharedState());
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
    ...(storage.db && { db: storage.db }),
    stores: storage.stores,
    lease: storage.lease,
    maintainStorage: storage.maintain,
    keyEncryptionKey,
    previousKeyEncryptionKey: config.previousKeyEncryptionKey ?? undefined,
    logger,
    mailer,
    ...(shared && { rateLimitStore: shared.rateLimitStore, fanout: shared.fanout }),
    // Readiness: the database answers (either backend), Redis answers when configured; keys are checked by createApp.
    readiness: [
      { name: "database", check: storage.ping },
      // Without Redis the instance degrades (counters in memory, fan-out catches up), so it stays ready.
      ...(redis ? [{ name: "redis", check: redis.ping, required: false }] : []),
    ],
    ...(storage.poolUse && { databasePool: storage.poolUse }),
  });
  const { port, metricsUrl } = await server.listen();
  logger.info("LIME identity server listening", {
    port,
    metrics: metricsUrl ?? (config.metrics.token === null ? "off" : "/metrics (token)"),
    host: config.hostname,
    issuer: config.publicUrl,
    database:
      config.databaseUrl === null
        ? `sqlite ${config.databasePath}`
        : `postgres ${redactDatabaseUrl(config.databaseUrl)}`,
    email_verification: config.emailVerification ? "on" : "off",
    admin_api: config.adminToken === null ? "off" : "on",
    shared_state:
      config.redisUrl !== null
        ? redactRedisUrl(config.redisUrl)
        : config.databaseUrl !== null
          ? "postgres (LISTEN/NOTIFY, counters table)"
          : "memory (one instance)",
    // Host, port and TLS mode only: SMTP_URL may carry a password.
    mail:
      config.mail.smtp === null
        ? "log (development)"
        : `smtp ${config.mail.smtp.host}:${config.mail.smtp.port} (${config.mail.smtp.security})`,
  });
  const shutdown = async (signal: string) => {
    logger.info("shutting down", { signal });
    // Streams get their SERVER_SHUTDOWN frame and requests in flight finish, for up to 5 s.
    await server.stop({ graceMs: 5000 });
    await redis?.close();
    await storage.close();
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
