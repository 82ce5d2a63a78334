/**
 * Opens the embedded SQLite database and brings its schema up to date.
 *
 * WAL lets readers proceed while one writer commits; `busy_timeout` makes a
 * second process wait for the write lock instead of failing at once; foreign
 * keys are off by default in SQLite and must be switched on per connection.
 */

import { Database } from "bun:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { MIGRATIONS, type Migration } from "./migrations.ts";

/**
 * A new database file is created owner-only (0600) in an owner-only
 * directory, before SQLite opens it: the file holds password hashes, owner
 * emails, audit addresses and site-login passports while they are live,
 * and SQLite gives its -wal and -shm files the main file's mode. An existing
 * file keeps the mode its operator gave it.
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, "", { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as { code?: string }).code !== "EEXIST") throw error;
  }
}

export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): Database {
  if (path !== ":memory:" && !path.startsWith("file:")) createPrivately(path);
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  migrate(db, migrations);
  return db;
}

/**
 * Applies every migration missing from `schema_migrations`, each in its own
 * transaction. Missing, not "above the highest recorded": a migration merged
 * with a lower number after a higher one ran is still applied.
 */
export function migrate(db: Database, migrations: readonly Migration[]): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  const applied = new Set(
    db
      .query<{ version: number }, []>("SELECT version FROM schema_migrations")
      .all()
      .map((r) => r.version),
  );
  const current = Math.max(0, ...applied);
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new Error(
      `database schema version ${current} is newer than this server (${latest}); refusing to start`,
    );
  }
  const record = db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  const recorded = db.query<{ version: number }, [number]>(
    "SELECT version FROM schema_migrations WHERE version = ?",
  );
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      // Another process sharing the file may have applied it since the read above; the write lock is ours now.
      if (recorded.get(migration.version)) return;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }).immediate();
  }
}
