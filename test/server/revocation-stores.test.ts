/**
 * The revocation store and the `revoked` outcomes of the agent-login store,
 * on SQLite and on PostgreSQL (the same suite for both), and SQLite's
 * migration 8, which rebuilds `login_outcomes` and must keep its id sequence
 * (the ids are SSE event ids that clients send back as Last-Event-ID).
 */

import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { createPostgresAgentLoginStore } from "../../server/infrastructure/postgres/agent-login-store.ts";
import type { Sql } from "../../server/infrastructure/postgres/connection.ts";
import { createPostgresRevocationStore } from "../../server/infrastructure/postgres/revocation-store.ts";
import { createSqliteAgentLoginStore } from "../../server/infrastructure/sqlite/agent-login-store.ts";
import { migrate, openDatabase } from "../../server/infrastructure/sqlite/database.ts";
import { MIGRATIONS } from "../../server/infrastructure/sqlite/migrations.ts";
import { createSqliteRevocationStore } from "../../server/infrastructure/sqlite/revocation-store.ts";
import type { AgentLoginStore } from "../../server/modules/agent-login/store.ts";
import type { RevocationStore } from "../../server/modules/revocation/store.ts";
import { describeWithPostgres } from "./postgres/postgres-server.ts";
import { freshSchema } from "./stores/postgres-fixture.ts";

const T0 = 1_800_000_000_000;

interface Fixture {
  revocations: RevocationStore;
  outcomes: AgentLoginStore;
  /** Runs one statement with `$1`-style parameters (translated for SQLite). */
  exec(text: string, params?: unknown[]): Promise<void>;
  count(text: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

async function seed(f: Fixture) {
  const owner = crypto.randomUUID();
  await f.exec(
    "INSERT INTO users (id, email, password_hash, kyc_level, created_at, updated_at) VALUES ($1, $2, 'x', 0, $3, $3)",
    [owner, `${owner}@example.com`, T0],
  );
  const addSite = async () => {
    const id = crypto.randomUUID();
    await f.exec(
      `INSERT INTO sites (id, owner_id, display_name, origin, token_hash, pow_difficulty, status, created_at, updated_at)
       VALUES ($1, $2, 'Site', NULL, $3, 10, 'ACTIVE', $4, $4)`,
      [id, owner, crypto.randomUUID(), T0],
    );
    return id;
  };
  const agent = crypto.randomUUID();
  await f.exec(
    `INSERT INTO agents (id, owner_id, display_name, token_hash, status, created_at, updated_at)
     VALUES ($1, $2, 'Bot', $3, 'ACTIVE', $4, $4)`,
    [agent, owner, crypto.randomUUID(), T0],
  );
  return { owner, agent, addSite };
}

function revocationSuite(name: string, factory: () => Promise<Fixture>) {
  describe(`revocation stores: ${name}`, () => {
    test("record keeps the latest cut-off per subject; live filters lapsed entries; purge drops them", async () => {
      const f = await factory();
      try {
        const { revocations: store } = f;
        await store.record({
          kind: "agent_token",
          subjectId: "a1",
          revokedAt: T0 + 2000,
          expiresAt: T0 + 10_000,
        });
        await store.record({
          kind: "agent_token",
          subjectId: "a1",
          revokedAt: T0 + 1000,
          expiresAt: T0 + 9_000,
        });
        await store.record({ kind: "agent", subjectId: "a2", revokedAt: T0, expiresAt: T0 + 5_000 });
        await store.record({ kind: "binding", subjectId: "b1", revokedAt: T0, expiresAt: T0 + 20_000 });
        expect(await store.live(T0)).toEqual([
          { kind: "agent", subjectId: "a2", revokedAt: T0, expiresAt: T0 + 5_000 },
          { kind: "agent_token", subjectId: "a1", revokedAt: T0 + 2000, expiresAt: T0 + 10_000 },
          { kind: "binding", subjectId: "b1", revokedAt: T0, expiresAt: T0 + 20_000 },
        ]);
        expect((await store.live(T0 + 5_000)).map((r) => r.subjectId)).toEqual(["a1", "b1"]);
        await store.purge(T0 + 10_000);
        expect(await f.count("SELECT COUNT(*) AS n FROM passport_revocations")).toBe(1);
      } finally {
        await f.close();
      }
    });

    test("agent_key entries carry their agent id through the store; other kinds carry none", async () => {
      const f = await factory();
      try {
        const { revocations: store } = f;
        await store.record({
          kind: "agent_key",
          subjectId: "jkt-1",
          agentId: "a1",
          revokedAt: T0,
          expiresAt: T0 + 9_000,
        });
        await store.record({
          kind: "agent_key",
          subjectId: "jkt-1",
          agentId: "a1",
          revokedAt: T0 + 5,
          expiresAt: T0 + 10_000,
        });
        await store.record({ kind: "agent", subjectId: "a2", revokedAt: T0, expiresAt: T0 + 5_000 });
        const live = await store.live(T0);
        expect(live).toEqual([
          { kind: "agent", subjectId: "a2", revokedAt: T0, expiresAt: T0 + 5_000 },
          { kind: "agent_key", subjectId: "jkt-1", agentId: "a1", revokedAt: T0 + 5, expiresAt: T0 + 10_000 },
        ]);
        expect(live[0]).not.toHaveProperty("agentId");
        // The schema holds the shape: an agent_key entry names its agent, no other kind does.
        await expect(
          f.exec(
            "INSERT INTO passport_revocations (kind, subject_id, agent_id, revoked_at, expires_at) VALUES ('agent_key', 'k', NULL, 1, 2)",
          ),
        ).rejects.toThrow();
        await expect(
          f.exec(
            "INSERT INTO passport_revocations (kind, subject_id, agent_id, revoked_at, expires_at) VALUES ('agent', 'x', 'a', 1, 2)",
          ),
        ).rejects.toThrow();
      } finally {
        await f.close();
      }
    });

    test("sitesOfAgent: sites it logged in to and sites holding a binding to it, once each, existing only", async () => {
      const f = await factory();
      try {
        const { owner, agent, addSite } = await seed(f);
        const [logged, bound, both, other] = [
          await addSite(),
          await addSite(),
          await addSite(),
          await addSite(),
        ];
        for (const site of [logged, both, "deleted-site"]) {
          await f.exec("INSERT INTO agent_sites (agent_id, site_id, first_login_at) VALUES ($1, $2, $3)", [
            agent,
            site,
            T0,
          ]);
        }
        for (const [site, status] of [
          [bound, "COMPLETED"],
          [both, "REVOKED"],
        ] as const) {
          await f.exec(
            `INSERT INTO bindings (id, site_id, redirect_uri, status, created_at, expires_at, agent_id, owner_id,
               decided_at, revoked_at)
             VALUES ($1, $2, 'https://x.example/cb', $3, $4, $4, $5, $6, $4, $7)`,
            [crypto.randomUUID(), site, status, T0, agent, owner, status === "REVOKED" ? T0 : null],
          );
        }
        const sites = await f.revocations.sitesOfAgent(agent);
        expect([...sites].sort()).toEqual([logged, bound, both].sort());
        expect(sites).not.toContain(other);
      } finally {
        await f.close();
      }
    });

    test("appendRevoked: one replayable outcome per existing site, ids after the earlier ones, delivered like outcomes", async () => {
      const f = await factory();
      try {
        const { addSite } = await seed(f);
        const [s1, s2] = [await addSite(), await addSite()];
        const wire = { kind: "agent" as const, agent_id: "a1", at: T0 / 1000 };
        const events = await f.outcomes.appendRevoked([s1, s2, s1, "gone"], wire, T0, T0 + 60_000);
        expect(events.map((e) => e.siteId).sort()).toEqual([s1, s2].sort());
        const mine = events.find((e) => e.siteId === s1)!;
        expect(mine).toMatchObject({
          type: "revoked",
          loginRequestId: null,
          revocation: wire,
          deliveredAt: null,
        });
        expect(await f.outcomes.eventsAfter(s1, 0, T0)).toEqual([mine]);
        expect(await f.outcomes.undeliveredEvents(s1, T0)).toEqual([mine]);
        await f.outcomes.markDelivered(mine.id, T0);
        expect(await f.outcomes.undeliveredEvents(s1, T0)).toEqual([]);
        expect(await f.outcomes.eventsAfter(s1, mine.id, T0)).toEqual([]);
        expect(await f.outcomes.eventsAfter(s1, 0, T0 + 60_000)).toEqual([]);
        expect(await f.outcomes.appendRevoked([], wire, T0, T0 + 1)).toEqual([]);
      } finally {
        await f.close();
      }
    });

    test("purge still drops old login requests when revoked outcomes (no request) are stored", async () => {
      const f = await factory();
      try {
        const { addSite } = await seed(f);
        const site = await addSite();
        await f.outcomes.create({
          id: crypto.randomUUID(),
          siteId: site,
          status: "EXPIRED",
          powChallenge: "0".repeat(64),
          powDifficulty: 10,
          redirectUrl: null,
          createdAt: T0,
          expiresAt: T0 + 1,
          approvedAgentId: null,
          approvedAt: null,
          passportJwt: null,
          passportExpiresAt: null,
          deliveredAt: null,
          challengeShownAt: null,
        } as Parameters<AgentLoginStore["create"]>[0]);
        await f.outcomes.appendRevoked([site], { kind: "binding", binding_id: "b", at: 1 }, T0, T0 + HOURS);
        await f.outcomes.purge(T0 + 1000, T0 + 1000);
        expect(await f.count("SELECT COUNT(*) AS n FROM login_requests")).toBe(0);
        expect(await f.count("SELECT COUNT(*) AS n FROM login_outcomes")).toBe(1);
      } finally {
        await f.close();
      }
    });
  });
}

const HOURS = 3_600_000;

function numbered(text: string): string {
  return text.replace(/\$(\d+)/g, "?$1");
}

revocationSuite("sqlite", async () => {
  const db = openDatabase(":memory:");
  return {
    revocations: createSqliteRevocationStore(db),
    outcomes: createSqliteAgentLoginStore(db),
    async exec(text, params = []) {
      db.query(numbered(text)).run(...(params as never[]));
    },
    async count(text, params = []) {
      return (db.query(numbered(text)).get(...(params as never[])) as { n: number }).n;
    },
    async close() {
      db.close();
    },
  };
});

describeWithPostgres("revocation stores on PostgreSQL", (postgres) => {
  revocationSuite("postgres", async () => {
    const fresh = await freshSchema(postgres());
    const sql: Sql = fresh.sql;
    return {
      revocations: createPostgresRevocationStore(sql),
      outcomes: createPostgresAgentLoginStore(sql),
      async exec(text, params = []) {
        await sql.unsafe(text, params as never[]);
      },
      async count(text, params = []) {
        const [row] = (await sql.unsafe(text, params as never[])) as Array<{ n: number | string }>;
        return Number(row!.n);
      },
      close: fresh.close,
    };
  });
});

describe("SQLite migration 8 rebuilds login_outcomes", () => {
  test("the id sequence carries over: ids of purged outcomes are never handed out again", async () => {
    const dir = `/tmp/lime-revocation-migration-${crypto.randomUUID()}`;
    const path = `${dir}.sqlite`;
    const db = new Database(path, { create: true });
    try {
      db.exec("PRAGMA foreign_keys = ON");
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version < 8),
      );
      const { agent: _agent, addSite } = await seed({
        revocations: undefined as never,
        outcomes: undefined as never,
        async exec(text, params = []) {
          db.query(numbered(text)).run(...(params as never[]));
        },
        async count() {
          return 0;
        },
        async close() {},
      });
      const site = await addSite();
      db.query(
        `INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, created_at, expires_at)
         VALUES ('r1', ?, 'EXPIRED', 'c', 10, 0, 1)`,
      ).run(site);
      for (let i = 0; i < 5; i++) {
        db.query(
          "INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at) VALUES (?, 'r1', 'expired', 0, 1)",
        ).run(site);
      }
      db.exec("DELETE FROM login_outcomes");
      migrate(db, MIGRATIONS);
      const store = createSqliteAgentLoginStore(db);
      const [event] = await store.appendRevoked(
        [site],
        { kind: "agent", agent_id: "a", at: 1 },
        T0,
        T0 + 1000,
      );
      expect(event!.id).toBe(6);
      expect(() =>
        db
          .query(
            "INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at) VALUES (?, NULL, 'expired', 0, 1)",
          )
          .run(site),
      ).toThrow();
    } finally {
      db.close();
      await Bun.file(path).delete();
    }
  });
});
