/**
 * The agent-keys migrations on a database that already has data: SQLite 9
 * (which rebuilds `passport_revocations` to widen its CHECK) and PostgreSQL
 * 6 keep every revocation entry, add `agent_keys` with its constraints, and
 * hold the new entry shape (an `agent_key` entry names its agent, no other
 * kind does).
 */

import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { connectPostgres } from "../../../server/infrastructure/postgres/connection.ts";
import { migratePostgres } from "../../../server/infrastructure/postgres/database.ts";
import { POSTGRES_MIGRATIONS } from "../../../server/infrastructure/postgres/migrations.ts";
import { createPostgresRevocationStore } from "../../../server/infrastructure/postgres/revocation-store.ts";
import { migrate } from "../../../server/infrastructure/sqlite/database.ts";
import { MIGRATIONS } from "../../../server/infrastructure/sqlite/migrations.ts";
import { createSqliteRevocationStore } from "../../../server/infrastructure/sqlite/revocation-store.ts";
import type { Revocation } from "../../../server/modules/revocation/entry.ts";
import { describeWithPostgres } from "../postgres/postgres-server.ts";

const T0 = 1_800_000_000_000;

const SEED = [
  `INSERT INTO users (id, email, password_hash, kyc_level, created_at, updated_at) VALUES ('u', 'u@x.test', 'h', 0, 0, 0)`,
  `INSERT INTO agents (id, owner_id, display_name, token_hash, status, created_at, updated_at)
     VALUES ('a', 'u', 'bot', 'ha', 'ACTIVE', 0, 0)`,
  `INSERT INTO passport_revocations (kind, subject_id, revoked_at, expires_at) VALUES
     ('agent', 'a-1', ${T0}, ${T0 + 1000}), ('agent_token', 'a-2', ${T0}, ${T0 + 2000}),
     ('binding', 'b-1', ${T0}, ${T0 + 3000})`,
];

const KEY_ROW = (kid: string, agentId: string, alg = "ed25519") =>
  `INSERT INTO agent_keys (kid, agent_id, owner_id, alg, jwk_json, created_at) VALUES ('${kid}', '${agentId}', 'u', '${alg}', '{}', 0)`;

const EXPECTED_ENTRIES: Revocation[] = [
  { kind: "agent", subjectId: "a-1", revokedAt: T0, expiresAt: T0 + 1000 },
  { kind: "agent_token", subjectId: "a-2", revokedAt: T0, expiresAt: T0 + 2000 },
  { kind: "binding", subjectId: "b-1", revokedAt: T0, expiresAt: T0 + 3000 },
];

describe("SQLite migration 9", () => {
  test("keeps every revocation entry, takes agent_key entries, adds agent_keys with its constraints", async () => {
    const db = new Database(":memory:", { strict: true });
    db.exec("PRAGMA foreign_keys = ON");
    try {
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 8),
      );
      for (const statement of SEED) db.exec(statement);
      migrate(db, MIGRATIONS);
      const store = createSqliteRevocationStore(db);
      expect(await store.live(T0)).toEqual(EXPECTED_ENTRIES);
      await store.record({
        kind: "agent_key",
        subjectId: "jkt",
        agentId: "a",
        revokedAt: T0,
        expiresAt: T0 + 9,
      });
      expect((await store.live(T0)).find((e) => e.kind === "agent_key")).toEqual({
        kind: "agent_key",
        subjectId: "jkt",
        agentId: "a",
        revokedAt: T0,
        expiresAt: T0 + 9,
      });
      expect(
        db.query("SELECT name FROM sqlite_master WHERE name = 'passport_revocations_expiry'").get(),
      ).not.toBeNull();
      expect(() =>
        db.exec(
          `INSERT INTO passport_revocations (kind, subject_id, revoked_at, expires_at) VALUES ('agent_key', 'x', 1, 2)`,
        ),
      ).toThrow();

      db.exec(KEY_ROW("k1", "a"));
      expect(() => db.exec(KEY_ROW("k1", "a"))).toThrow(); // the kid is the primary key
      expect(() => db.exec(KEY_ROW("k2", "no-such-agent"))).toThrow(); // foreign key
      expect(() => db.exec(KEY_ROW("k3", "a", "rsa-v1_5-sha256"))).toThrow(); // alg CHECK
      expect(() => db.exec(`UPDATE agent_keys SET directory_signature = ':AA:' WHERE kid = 'k1'`)).toThrow(); // a signature comes with its input and expiry
      const indexes = db
        .query(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'agent_keys' ORDER BY name",
        )
        .all()
        .map((row) => (row as { name: string }).name);
      expect(indexes).toContain("agent_keys_agent");
      expect(indexes).toContain("agent_keys_active");
    } finally {
      db.close();
    }
  });
});

describeWithPostgres("PostgreSQL migration 6", (postgres) => {
  test("keeps every revocation entry, takes agent_key entries, adds agent_keys with its constraints", async () => {
    const server = postgres();
    const schema = `m_${crypto.randomUUID().replaceAll("-", "")}`;
    const admin = new Bun.SQL(server.url, { max: 1 });
    await admin.unsafe(`CREATE SCHEMA ${schema}`);
    const sql = await connectPostgres({ url: server.url, schema, max: 2 });
    try {
      await migratePostgres(
        sql,
        POSTGRES_MIGRATIONS.filter((m) => m.version <= 5),
      );
      for (const statement of SEED) await sql.unsafe(statement);
      expect(
        await migratePostgres(
          sql,
          POSTGRES_MIGRATIONS.filter((m) => m.version <= 6),
        ),
      ).toEqual([6]);
      const store = createPostgresRevocationStore(sql);
      expect(await store.live(T0)).toEqual(EXPECTED_ENTRIES);
      await store.record({
        kind: "agent_key",
        subjectId: "jkt",
        agentId: "a",
        revokedAt: T0,
        expiresAt: T0 + 9,
      });
      expect((await store.live(T0)).find((e) => e.kind === "agent_key")).toEqual({
        kind: "agent_key",
        subjectId: "jkt",
        agentId: "a",
        revokedAt: T0,
        expiresAt: T0 + 9,
      });
      await expect(
        sql.unsafe(
          `INSERT INTO passport_revocations (kind, subject_id, revoked_at, expires_at) VALUES ('agent_key', 'x', 1, 2)`,
        ),
      ).rejects.toThrow();

      await sql.unsafe(KEY_ROW("k1", "a"));
      await expect(sql.unsafe(KEY_ROW("k1", "a"))).rejects.toThrow();
      await expect(sql.unsafe(KEY_ROW("k2", "no-such-agent"))).rejects.toThrow();
      await expect(sql.unsafe(KEY_ROW("k3", "a", "rsa-v1_5-sha256"))).rejects.toThrow();
      await expect(
        sql.unsafe(`UPDATE agent_keys SET directory_signature = ':AA:' WHERE kid = 'k1'`),
      ).rejects.toThrow();
      const indexes = (await sql.unsafe(
        `SELECT indexname FROM pg_indexes WHERE schemaname = '${schema}' AND tablename = 'agent_keys' ORDER BY indexname`,
      )) as Array<{ indexname: string }>;
      expect(indexes.map((row) => row.indexname)).toEqual([
        "agent_keys_active",
        "agent_keys_agent",
        "agent_keys_pkey",
      ]);
    } finally {
      await sql.close();
      await admin.unsafe(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    }
  });
});
