/**
 * Entry point: read the environment, open the database, build the app with
 * `createApp`, listen. Invalid configuration stops here with the variable's name.
 */

import { createApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { loadDevelopmentKek } from "./infrastructure/crypto/development-kek.ts";
import { createJsonLogger } from "./infrastructure/logger.ts";
import { openDatabase } from "./infrastructure/sqlite/database.ts";

const logger = createJsonLogger();

try {
  const config = loadConfig(process.env);
  const db = openDatabase(config.databasePath);
  const keyEncryptionKey = config.keyEncryptionKey ?? loadDevelopmentKek(config.databasePath, logger);
  const server = await createApp({ config, db, keyEncryptionKey, logger });
  const { port } = server.listen();
  logger.info("LIME identity server listening", {
    port,
    issuer: config.publicUrl,
    database: config.databasePath,
    email_verification: config.emailVerification ? "on" : "off",
    admin_api: config.adminToken === null ? "off" : "on",
  });
  const shutdown = async (signal: string) => {
    logger.info("shutting down", { signal });
    await server.stop();
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
