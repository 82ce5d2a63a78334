import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryOutcomeFanout } from "../../../server/infrastructure/memory/outcome-fanout.ts";
import { createMemoryRateLimitStore } from "../../../server/infrastructure/memory/rate-limit-store.ts";
import { migrate, openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { MIGRATIONS } from "../../../server/infrastructure/sqlite/migrations.ts";
import {
  type AgentKeyFixture,
  agent,
  agentKeyStoreConformance,
  agentLoginStoreConformance,
  agentStoreConformance,
  auditStoreConformance,
  type BindingFixture,
  bindingStoreConformance,
  keyStoreConformance,
  kycStoreConformance,
  outcomeFanoutConformance,
  passwordResetStoreConformance,
  rateLimitStoreConformance,
  sessionStoreConformance,
  siteStoreConformance,
  userStoreConformance,
} from "./conformance.ts";
import { loginAuditConformance } from "./login-audit-conformance.ts";
import { sqliteFactory } from "./sqlite-fixture.ts";

agentLoginStoreConformance(
  "sqlite",
  sqliteFactory((s) => s.agentLogin),
);
loginAuditConformance(
  "sqlite",
  sqliteFactory((s) => ({ login: s.agentLogin, audit: s.audit })),
);
keyStoreConformance(
  "sqlite",
  sqliteFactory((s) => s.keys),
);
userStoreConformance(
  "sqlite",
  sqliteFactory((s) => ({ users: s.users, codes: s.emailCodes })),
);
passwordResetStoreConformance(
  "sqlite",
  sqliteFactory((s) => ({
    resets: s.passwordResets,
    users: s.users,
    codes: s.emailCodes,
    sessions: s.sessions,
  })),
);
sessionStoreConformance(
  "sqlite",
  sqliteFactory((s) => s.sessions),
);
siteStoreConformance(
  "sqlite",
  sqliteFactory((s) => s.sites),
);
agentStoreConformance(
  "sqlite",
  sqliteFactory((s) => s.agents),
);
kycStoreConformance(
  "sqlite",
  sqliteFactory((s) => s.kyc),
);
auditStoreConformance(
  "sqlite",
  sqliteFactory((s) => s.audit),
);
bindingStoreConformance("sqlite", async () => {
  const fixture = await sqliteFactory((s) => s)();
  const stores = fixture.store;
  return {
    ...fixture,
    store: stores.bindings,
    async addAgent(ownerId) {
      const id = crypto.randomUUID();
      await stores.agents.create(agent(ownerId, { id }));
      return id;
    },
  } satisfies BindingFixture;
});
agentKeyStoreConformance("sqlite", async () => {
  const fixture = await sqliteFactory((s) => s)();
  const stores = fixture.store;
  return {
    ...fixture,
    store: stores.agentKeys,
    async addAgent(ownerId) {
      const id = crypto.randomUUID();
      await stores.agents.create(agent(ownerId, { id }));
      return id;
    },
  } satisfies AgentKeyFixture;
});
rateLimitStoreConformance("memory", () => createMemoryRateLimitStore());
outcomeFanoutConformance("memory", () => createMemoryOutcomeFanout());

describe("SQLite database and migrations", () => {
  function tempDb(): { path: string; cleanup(): void } {
    const dir = mkdtempSync(join(tmpdir(), "lime-migrate-"));
    return { path: join(dir, "lime.sqlite"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }

  const versions = (db: Database) =>
    (db.query("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[]).map(
      (r) => r.version,
    );

  test("a file database runs in WAL mode with foreign keys on, and records each migration once", () => {
    const tmp = tempDb();
    try {
      const db = openDatabase(tmp.path);
      expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
      expect((db.query("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys).toBe(1);
      expect(versions(db)).toEqual(MIGRATIONS.map((m) => m.version));
      db.close();
      const again = openDatabase(tmp.path);
      expect(versions(again)).toEqual(MIGRATIONS.map((m) => m.version));
      again.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a migration merged with a lower number after a higher one ran is still applied, once", () => {
    const db = openDatabase(":memory:");
    const later = { version: 1001, name: "later", sql: "CREATE TABLE probe_later (x INTEGER)" };
    const gap = { version: 1000, name: "merged late", sql: "CREATE TABLE probe_gap (x INTEGER)" };
    migrate(db, [...MIGRATIONS, later]);
    migrate(db, [...MIGRATIONS, gap, later]);
    migrate(db, [...MIGRATIONS, gap, later]);
    expect(versions(db).slice(-2)).toEqual([1000, 1001]);
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'probe_gap'").get()).not.toBeNull();
    db.close();
  });

  test("a later migration applies on top; a database newer than the code is refused", () => {
    const db = openDatabase(":memory:");
    const next = [...MIGRATIONS, { version: 999, name: "test", sql: "CREATE TABLE probe (x INTEGER)" }];
    migrate(db, next);
    expect(versions(db).at(-1)).toBe(999);
    expect(() => migrate(db, MIGRATIONS)).toThrow(/newer than this server/);
    db.close();
  });

  test("migration 5 counts the agent's logins still on record and the distinct sites they were at", () => {
    const db = new Database(":memory:", { strict: true });
    db.exec("PRAGMA foreign_keys = ON");
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version <= 2),
    );
    db.exec(`INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u', 'u@x.test', 'h', 0, 0);
      INSERT INTO sites (id, owner_id, display_name, token_hash, pow_difficulty, status, created_at, updated_at)
        VALUES ('s1', 'u', 'one', 'hs1', 8, 'ACTIVE', 0, 0), ('s2', 'u', 'two', 'hs2', 8, 'ACTIVE', 0, 0);
      INSERT INTO agents (id, owner_id, display_name, token_hash, status, created_at, updated_at)
        VALUES ('a', 'u', 'bot', 'ha', 'ACTIVE', 0, 0), ('idle', 'u', 'idle', 'hi', 'ACTIVE', 0, 0);`);
    const request = db.query(
      `INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, created_at, expires_at,
         approved_agent_id, approved_at) VALUES (?, ?, ?, 'c', 8, 0, 1, ?, ?)`,
    );
    request.run("r1", "s1", "DELIVERED", "a", 5);
    request.run("r2", "s1", "APPROVED", "a", 7);
    request.run("r3", "s2", "DELIVERED", "a", 9);
    request.run("r4", "s2", "EXPIRED", null, null);
    migrate(db, MIGRATIONS);
    const counters = db
      .query("SELECT id, successful_logins, distinct_sites, reputation_due_at FROM agents ORDER BY id")
      .all();
    expect(counters).toEqual([
      { id: "a", successful_logins: 3, distinct_sites: 2, reputation_due_at: 0 },
      { id: "idle", successful_logins: 0, distinct_sites: 0, reputation_due_at: 0 },
    ]);
    expect(db.query("SELECT site_id, first_login_at FROM agent_sites ORDER BY site_id").all()).toEqual([
      { site_id: "s1", first_login_at: 5 },
      { site_id: "s2", first_login_at: 9 },
    ]);
    db.close();
  });

  test("a failing migration leaves no trace (its transaction rolls back)", () => {
    const db = openDatabase(":memory:");
    const applied = versions(db);
    const broken = [
      ...MIGRATIONS,
      {
        version: applied.at(-1)! + 1,
        name: "broken",
        sql: "CREATE TABLE half (x INTEGER); SELECT * FROM missing_table;",
      },
    ];
    expect(() => migrate(db, broken)).toThrow();
    expect(versions(db)).toEqual(applied);
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeNull();
    db.close();
  });
});
