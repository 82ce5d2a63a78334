/**
 * The development fallback for the key-encryption key.
 *
 * Outside production, when `LIME_KEY_ENCRYPTION_KEY` is unset, a random KEK is
 * generated once and kept beside the database (mode 0600) so signing keys
 * survive restarts. Anyone who can read that file can decrypt the signing
 * keys; that is why production refuses to start without the variable.
 */

import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "../logger.ts";

/** Path of the development KEK file for a database path (`null` for an in-memory database). */
export function developmentKekPath(databasePath: string): string | null {
  if (databasePath === ":memory:") return null;
  return join(dirname(databasePath), "lime-dev-kek.b64url");
}

/** Loads or creates the development KEK; an in-memory database gets an ephemeral one. */
export function loadDevelopmentKek(databasePath: string, logger: Logger): Uint8Array {
  const path = developmentKekPath(databasePath);
  const warning =
    "LIME_KEY_ENCRYPTION_KEY is not set: using a development key-encryption key. " +
    "Never run like this in production; set LIME_KEY_ENCRYPTION_KEY to 32 random bytes (base64url).";
  if (path === null) {
    logger.warn(warning, { kek: "ephemeral (in-memory database)" });
    return crypto.getRandomValues(new Uint8Array(32));
  }
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) chmodSync(path, 0o600);
    const bytes = new Uint8Array(Buffer.from(readFileSync(path, "utf8").trim(), "base64url"));
    if (bytes.length !== 32) throw new Error(`development KEK file ${path} is corrupt (expected 32 bytes)`);
    logger.warn(warning, { kek_file: path });
    return bytes;
  }
  mkdirSync(dirname(path), { recursive: true });
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  writeFileSync(path, `${Buffer.from(bytes).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  logger.warn(warning, { kek_file: path, created: true });
  return bytes;
}
