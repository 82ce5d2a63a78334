/**
 * Opens PostgreSQL and brings its schema up to date.
 *
 * Migrations run in one transaction that first takes a transaction-scoped
 * advisory lock: when three instances boot together, one migrates and the
 * others wait on the lock, then find every version recorded and apply
 * nothing. DDL is transactional in PostgreSQL, so a migration that fails
 * leaves no half-built schema behind.
 *
 * A version is applied when it is missing from `schema_migrations`, not when
 * it is above the highest recorded one, so a migration merged with a lower
 * number after a higher one ran is still applied.
 */

import { connectPostgres, type PostgresOptions, type Sql } from "./connection.ts";
import { POSTGRES_MIGRATIONS, type PostgresMigration } from "./migrations.ts";

/** The advisory-lock key for schema migrations ("LIMEMIGR" as an int64). */
const MIGRATION_LOCK = 0x4c494d454d494752n;

export async function openPostgres(
  options: PostgresOptions,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<Sql> {
  const sql = await connectPostgres(options);
  try {
    await migratePostgres(sql, migrations);
  } catch (error) {
    await sql.close().catch(() => {});
    throw error;
  }
  return sql;
}

/** Applies every migration missing from `schema_migrations`, in version order, under one lock. */
export async function migratePostgres(sql: Sql, migrations: readonly PostgresMigration[]): Promise<number[]> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at BIGINT NOT NULL
    )`;
    const rows: Array<{ version: number }> = await tx`SELECT version FROM schema_migrations`;
    const applied = new Set(rows.map((row) => Number(row.version)));
    const latest = ordered.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > latest) {
      throw new Error(
        `database schema version ${newest} is newer than this server (${latest}); refusing to start`,
      );
    }
    const done: number[] = [];
    for (const migration of ordered) {
      if (applied.has(migration.version)) continue;
      await tx.unsafe(migration.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at)
               VALUES (${migration.version}, ${migration.name}, ${Date.now()})`;
      done.push(migration.version);
    }
    return done;
  });
}
