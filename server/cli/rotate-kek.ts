/**
 * `npm run kek:rotate`: re-seals every stored signing key under
 * `LIME_KEY_ENCRYPTION_KEY` (the new KEK), opening the ones still sealed under
 * `LIME_KEY_ENCRYPTION_KEY_PREVIOUS` (the old one). It reads the same
 * environment as the server and opens the same store; servers may keep
 * running meanwhile. Exit code 0 when every key is under the new KEK, 1
 * otherwise, with the reason on stderr. Steps: docs/key-encryption.md.
 */

import { ConfigError, loadConfig } from "../config.ts";
import { createJsonLogger } from "../infrastructure/logger.ts";
import { openConfiguredStores } from "../infrastructure/open-stores.ts";
import { resealSigningKeys } from "../operations/reseal-signing-keys.ts";

function fail(message: string): never {
  process.stderr.write(`kek:rotate: ${message}\n`);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) fail(`invalid configuration: ${error.message}`);
  throw error;
}
if (config.keyEncryptionKey === null || config.previousKeyEncryptionKey === null) {
  fail(
    "needs both LIME_KEY_ENCRYPTION_KEY (the new key-encryption key) and LIME_KEY_ENCRYPTION_KEY_PREVIOUS " +
      "(the key being retired), as set on the servers during the changeover; see docs/key-encryption.md",
  );
}

const logger = createJsonLogger();
let opened: Awaited<ReturnType<typeof openConfiguredStores>>;
try {
  opened = await openConfiguredStores(config, logger);
} catch (error) {
  fail(`cannot open the store: ${error instanceof Error ? error.message : String(error)}`);
}

let exitCode = 1;
try {
  const report = await resealSigningKeys({
    keys: opened.stores.keys,
    from: config.previousKeyEncryptionKey,
    to: config.keyEncryptionKey,
  });
  const total = report.resealed + report.alreadyCurrent + report.removed + report.failed.length;
  process.stdout.write(
    `kek:rotate: ${report.resealed} re-sealed, ${report.alreadyCurrent} already under the new key, ` +
      `${report.removed} removed meanwhile, ${report.failed.length} failed\n`,
  );
  if (report.failed.length > 0) {
    process.stderr.write(
      `kek:rotate: ${report.failed.length} signing key(s) not re-sealed (${report.failed.join(", ")}): ` +
        "neither LIME_KEY_ENCRYPTION_KEY nor LIME_KEY_ENCRYPTION_KEY_PREVIOUS opens them, or their row kept " +
        "changing. Keep LIME_KEY_ENCRYPTION_KEY_PREVIOUS set on the servers, check both keys and run again.\n",
    );
  } else if (total === 0) {
    // An empty store almost always means the wrong DATABASE_PATH; dropping _PREVIOUS then would lock the servers out.
    process.stderr.write(
      "kek:rotate: the store holds no signing keys, so nothing was re-sealed. Check that this command sees " +
        "the servers' database (DATABASE_PATH); keep LIME_KEY_ENCRYPTION_KEY_PREVIOUS set until it does.\n",
    );
  } else {
    process.stdout.write(
      "kek:rotate: every signing key is sealed under LIME_KEY_ENCRYPTION_KEY. " +
        "Remove LIME_KEY_ENCRYPTION_KEY_PREVIOUS from the servers and restart them.\n",
    );
    exitCode = 0;
  }
} catch (error) {
  process.stderr.write(`kek:rotate: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  await opened.close();
}
process.exit(exitCode);
