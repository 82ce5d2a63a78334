/**
 * A fresh, migrated PostgreSQL schema per test, on the test file's private
 * server (postgres-server.ts): each test owns its tables, as each SQLite test
 * owns its in-memory database, and a schema is much cheaper to make than a
 * database. Parent rows (an owner, a site) are inserted with plain SQL so a
 * store's suite does not depend on another store's implementation.
 */

import type { Sql } from "../../../server/infrastructure/postgres/connection.ts";
import { openPostgres } from "../../../server/infrastructure/postgres/database.ts";
import type { PostgresServer } from "../postgres/postgres-server.ts";
import type { Factory, Fixture } from "./conformance.ts";
import { site, user } from "./conformance.ts";

export interface FreshSchema {
  sql: Sql;
  schema: string;
  close(): Promise<void>;
}

export async function freshSchema(server: PostgresServer, max = 4): Promise<FreshSchema> {
  const schema = `t_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = new Bun.SQL(server.url, { max: 1 });
  try {
    await admin.unsafe(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.close();
  }
  const sql = await openPostgres({ url: server.url, schema, max });
  return {
    sql,
    schema,
    async close() {
      await sql.close();
      const drop = new Bun.SQL(server.url, { max: 1 });
      try {
        await drop.unsafe(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await drop.close();
      }
    },
  };
}

export async function insertOwner(sql: Sql): Promise<string> {
  const owner = user();
  await sql`INSERT INTO users (id, email, password_hash, kyc_level, created_at, updated_at)
            VALUES (${owner.id}, ${owner.email}, ${owner.passwordHash}, 0, ${owner.createdAt}, ${owner.updatedAt})`;
  return owner.id;
}

export async function insertSite(sql: Sql, ownerId?: string): Promise<string> {
  const record = site(ownerId ?? (await insertOwner(sql)));
  await sql`INSERT INTO sites (id, owner_id, display_name, origin, token_hash, pow_difficulty, status, created_at, updated_at)
            VALUES (${record.id}, ${record.ownerId}, ${record.displayName}, ${record.origin}, ${record.tokenHash},
                    ${record.powDifficulty}, ${record.status}, ${record.createdAt}, ${record.updatedAt})`;
  return record.id;
}

/** A conformance factory over a fresh schema: `make` builds the store under test from the pool. */
export function postgresFactory<S>(server: () => PostgresServer, make: (sql: Sql) => S): Factory<S> {
  return async (): Promise<Fixture<S>> => {
    const fresh = await freshSchema(server());
    return {
      store: make(fresh.sql),
      addOwner: () => insertOwner(fresh.sql),
      addSite: (ownerId) => insertSite(fresh.sql, ownerId),
      close: fresh.close,
    };
  };
}
