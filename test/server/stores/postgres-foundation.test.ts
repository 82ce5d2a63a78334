/**
 * The foundation stores on PostgreSQL: the same conformance suites SQLite
 * runs (sqlite.test.ts), a reputation suite run on both backends so they are
 * held to one behaviour, and races between separate pools on one schema —
 * what several server instances sharing a database do — for every
 * single-use step: key bootstrap and rotation, email-code attempts,
 * password-reset issue and redemption, KYC submission.
 */

import { describe, expect, test } from "bun:test";
import type { ReputationStore } from "../../../server/core/agents/reputation.ts";
import type { AgentStore } from "../../../server/core/agents/store.ts";
import type { StoredSigningKey } from "../../../server/core/keys/store.ts";
import { createPostgresReputationStore } from "../../../server/infrastructure/postgres/agent-reputation-store.ts";
import { createPostgresAgentStore } from "../../../server/infrastructure/postgres/agents-store.ts";
import { createPostgresAuditStore } from "../../../server/infrastructure/postgres/audit-store.ts";
import { connectPostgres, type Sql } from "../../../server/infrastructure/postgres/connection.ts";
import { createPostgresKeyStore } from "../../../server/infrastructure/postgres/keys-store.ts";
import { createPostgresKycStore } from "../../../server/infrastructure/postgres/kyc-store.ts";
import { createPostgresPasswordResetStore } from "../../../server/infrastructure/postgres/password-reset-store.ts";
import { createPostgresSessionStore } from "../../../server/infrastructure/postgres/sessions-store.ts";
import { createPostgresSiteStore } from "../../../server/infrastructure/postgres/sites-store.ts";
import {
  createPostgresEmailCodeStore,
  createPostgresUserStore,
} from "../../../server/infrastructure/postgres/users-store.ts";
import { describeWithPostgres, type PostgresServer } from "../postgres/postgres-server.ts";
import {
  agent,
  agentStoreConformance,
  auditStoreConformance,
  type Factory,
  keyStoreConformance,
  kycStoreConformance,
  passwordResetStoreConformance,
  sessionStoreConformance,
  siteStoreConformance,
  userStoreConformance,
} from "./conformance.ts";
import { freshSchema, insertOwner, insertSite, postgresFactory } from "./postgres-fixture.ts";
import { sqliteFactory } from "./sqlite-fixture.ts";

const T0 = 1_800_000_000_000;

interface ReputationFixture {
  reputation: ReputationStore;
  agents: AgentStore;
}

/**
 * The reputation counters have no suite in conformance.ts yet; this one runs
 * here against SQLite and PostgreSQL alike.
 */
function reputationStoreBehaviour(name: string, factory: Factory<ReputationFixture>): void {
  const using = async (body: (fixture: Awaited<ReturnType<typeof factory>>) => Promise<void>) => {
    const fixture = await factory();
    try {
      await body(fixture);
    } finally {
      await fixture.close();
    }
  };

  describe(`ReputationStore behaviour: ${name}`, () => {
    test("logins count every time, sites once each, and make the score due", async () => {
      await using(async ({ store, addOwner, addSite }) => {
        const owner = await addOwner();
        const a = agent(owner);
        await store.agents.create(a);
        const [s1, s2] = [await addSite(owner), await addSite(owner)];
        const score = (x: { history: { successfulLogins: number } }) => ({
          reputation: x.history.successfulLogins,
          dueAt: T0 + 1_000_000,
        });
        expect(await store.reputation.refreshDue(T0, 10, score)).toBe(1);
        expect(await store.reputation.refreshDue(T0, 10, score)).toBe(0);
        await store.reputation.recordLogin(a.id, s1, T0 + 1);
        await store.reputation.recordLogin(a.id, s1, T0 + 2);
        await store.reputation.recordLogin(a.id, s2, T0 + 3);
        expect((await store.agents.findById(a.id))?.history).toMatchObject({
          successfulLogins: 3,
          distinctSites: 2,
        });
        expect(await store.reputation.refreshDue(T0 + 4, 10, score)).toBe(1);
        const after = await store.agents.findById(a.id);
        expect(after?.reputation).toBe(3);
        expect(after?.history.reputationComputedAt).toBe(T0 + 4);
      });
    });

    test("a rejection replaces the count with next(current, countedAt); an unknown agent is left alone", async () => {
      await using(async ({ store, addOwner }) => {
        const a = agent(await addOwner());
        await store.agents.create(a);
        const seen: Array<[number, number]> = [];
        const next = (current: number, countedAt: number) => {
          seen.push([current, countedAt]);
          return current / 2 + 1;
        };
        await store.reputation.recordRejection(a.id, T0 + 10, next);
        await store.reputation.recordRejection(a.id, T0 + 20, next);
        await store.reputation.recordRejection(crypto.randomUUID(), T0 + 30, next);
        expect(seen).toEqual([
          [0, 0],
          [1, T0 + 10],
        ]);
        expect((await store.agents.findById(a.id))?.history).toMatchObject({
          recentRejections: 1.5,
          rejectionsCountedAt: T0 + 20,
        });
      });
    });

    test("refreshDue takes active agents earliest due first, at most `limit`, and sets score, time and next due", async () => {
      await using(async ({ store, addOwner }) => {
        const owner = await addOwner();
        const agents = [agent(owner), agent(owner), agent(owner)];
        for (const a of agents) await store.agents.create(a);
        const revoked = agent(owner);
        await store.agents.create(revoked);
        await store.agents.revoke(revoked.id, owner, T0);
        const seen: string[] = [];
        // Each recomputation makes the agent due again at a different time, to order the next pass.
        const dueAt = new Map([
          [agents[0]!.id, T0 + 300],
          [agents[1]!.id, T0 + 100],
          [agents[2]!.id, T0 + 200],
        ]);
        let later = false;
        const score = (x: { id: string }) => {
          seen.push(x.id);
          return { reputation: 41.6, dueAt: later ? T0 + 10_000 : dueAt.get(x.id)! };
        };
        expect(await store.reputation.refreshDue(T0, 10, score)).toBe(3);
        expect(seen.sort()).toEqual(agents.map((a) => a.id).sort());
        expect((await store.agents.findById(agents[0]!.id))?.reputation).toBe(42);
        expect((await store.agents.findById(revoked.id))?.history.reputationComputedAt).toBeNull();
        seen.length = 0;
        later = true;
        expect(await store.reputation.refreshDue(T0 + 250, 1, score)).toBe(1);
        expect(await store.reputation.refreshDue(T0 + 250, 5, score)).toBe(1);
        expect(seen).toEqual([agents[1]!.id, agents[2]!.id]);
        expect(await store.reputation.refreshDue(T0 + 250, 5, score)).toBe(0);
      });
    });

    test("concurrent logins to one new site count the site once", async () => {
      await using(async ({ store, addOwner, addSite }) => {
        const owner = await addOwner();
        const a = agent(owner);
        await store.agents.create(a);
        const siteId = await addSite(owner);
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.reputation.recordLogin(a.id, siteId, T0 + i)),
        );
        expect((await store.agents.findById(a.id))?.history).toMatchObject({
          successfulLogins: 10,
          distinctSites: 1,
        });
      });
    });
  });
}

reputationStoreBehaviour(
  "sqlite",
  sqliteFactory((stores) => ({ reputation: stores.agentReputation, agents: stores.agents })),
);

function key(kid: string, status: StoredSigningKey["status"], createdAt = T0): StoredSigningKey {
  return {
    kid,
    status,
    publicJwk: JSON.stringify({ kty: "RSA", kid }),
    sealedPrivateJwk: new Uint8Array([1, 2, 3]),
    iv: new Uint8Array(12),
    createdAt,
    activatedAt: status === "CURRENT" ? createdAt : null,
    retiredAt: null,
    removeAfter: null,
  };
}

/** `n` single-connection pools on one schema: as many server instances sharing a database. */
async function instances(server: PostgresServer, schema: string, n: number): Promise<Sql[]> {
  return Promise.all(Array.from({ length: n }, () => connectPostgres({ url: server.url, schema, max: 1 })));
}

async function racing<T>(
  server: PostgresServer,
  n: number,
  body: (pools: Sql[], setup: Sql) => Promise<T>,
): Promise<T> {
  const fresh = await freshSchema(server);
  const pools = await instances(server, fresh.schema, n);
  try {
    return await body(pools, fresh.sql);
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await fresh.close();
  }
}

describeWithPostgres("PostgreSQL foundation stores", (postgres) => {
  const pg = <S>(make: (sql: Sql) => S) => postgresFactory(postgres, make);

  keyStoreConformance("postgres", pg(createPostgresKeyStore));
  userStoreConformance(
    "postgres",
    pg((sql) => ({ users: createPostgresUserStore(sql), codes: createPostgresEmailCodeStore(sql) })),
  );
  passwordResetStoreConformance(
    "postgres",
    pg((sql) => ({
      resets: createPostgresPasswordResetStore(sql),
      users: createPostgresUserStore(sql),
      codes: createPostgresEmailCodeStore(sql),
      sessions: createPostgresSessionStore(sql),
    })),
  );
  sessionStoreConformance("postgres", pg(createPostgresSessionStore));
  siteStoreConformance("postgres", pg(createPostgresSiteStore));
  agentStoreConformance("postgres", pg(createPostgresAgentStore));
  kycStoreConformance("postgres", pg(createPostgresKycStore));
  auditStoreConformance("postgres", pg(createPostgresAuditStore));
  reputationStoreBehaviour(
    "postgres",
    pg((sql) => ({ reputation: createPostgresReputationStore(sql), agents: createPostgresAgentStore(sql) })),
  );

  describe("across instances sharing one database", () => {
    test("bootstrap from 8 instances at once: exactly one writes the first two keys", async () => {
      await racing(postgres(), 8, async (pools) => {
        const results = await Promise.all(
          pools.map((pool, i) =>
            createPostgresKeyStore(pool).bootstrap(key(`c${i}`, "CURRENT"), key(`n${i}`, "NEXT")),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        const keys = await createPostgresKeyStore(pools[0]!).list();
        expect(keys.map((k) => [k.kid, k.status])).toEqual([
          [`c${winner}`, "CURRENT"],
          [`n${winner}`, "NEXT"],
        ]);
      });
    });

    test("8 rotations from 8 instances with the same expected kid: one wins each round; the ring stays 1 CURRENT, 1 NEXT", async () => {
      await racing(postgres(), 8, async (pools) => {
        const stores = pools.map(createPostgresKeyStore);
        await stores[0]!.bootstrap(key("k0", "CURRENT"), key("k1", "NEXT"));
        let current = "k0";
        let expectedNext = "k1";
        for (let round = 1; round <= 3; round++) {
          const now = T0 + round * 1000;
          const results = await Promise.all(
            stores.map((store, i) =>
              store.rotate({
                expectedCurrentKid: current,
                retireUntil: now + 500,
                next: key(`r${round}-${i}`, "NEXT", now),
                now,
              }),
            ),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          const winner = results.indexOf(true);
          const keys = await stores[round % stores.length]!.list();
          const byStatus = (status: string) => keys.filter((k) => k.status === status).map((k) => k.kid);
          expect(byStatus("CURRENT")).toEqual([expectedNext]);
          expect(byStatus("NEXT")).toEqual([`r${round}-${winner}`]);
          expect(byStatus("RETIRED")).toContain(current);
          expect(keys).toHaveLength(round + 2);
          expect(keys.find((k) => k.kid === expectedNext)?.activatedAt).toBe(now);
          expect(keys.find((k) => k.kid === current)?.removeAfter).toBe(now + 500);
          current = expectedNext;
          expectedNext = `r${round}-${winner}`;
        }
      });
    });

    test("email-code guesses from 5 instances: attempts are spent once each, and a right code verifies once", async () => {
      await racing(postgres(), 5, async (pools, setup) => {
        const stores = pools.map(createPostgresEmailCodeStore);
        const userId = await insertOwner(setup);
        await stores[0]!.put({ userId, codeHash: "right", expiresAt: T0 + 1000, attemptsLeft: 3 });
        const wrong = await Promise.all(
          Array.from({ length: 10 }, (_, i) => stores[i % stores.length]!.attempt(userId, "wrong", T0)),
        );
        expect(wrong.filter((o) => o === "invalid")).toHaveLength(2);
        expect(wrong.filter((o) => o === "exhausted")).toHaveLength(8);

        await stores[1]!.put({ userId, codeHash: "right", expiresAt: T0 + 1000, attemptsLeft: 3 });
        const right = await Promise.all(
          Array.from({ length: 10 }, (_, i) => stores[i % stores.length]!.attempt(userId, "right", T0)),
        );
        expect(right.filter((o) => o === "verified")).toHaveLength(1);
        expect(right.filter((o) => o === "absent")).toHaveLength(9);
      });
    });

    test("password resets from 8 instances: concurrent issues leave one open token; one redemption wins", async () => {
      await racing(postgres(), 8, async (pools, setup) => {
        const stores = pools.map(createPostgresPasswordResetStore);
        const userId = await insertOwner(setup);
        const resets = stores.map((_, i) => ({
          id: crypto.randomUUID(),
          userId,
          tokenHash: `token-${i}-${crypto.randomUUID()}`,
          createdAt: T0,
          expiresAt: T0 + 1_800_000,
          usedAt: null,
        }));
        await Promise.all(stores.map((store, i) => store.issue(resets[i]!)));
        const open = (await Promise.all(resets.map((r) => stores[0]!.findByTokenHash(r.tokenHash)))).filter(
          (r) => r !== null,
        );
        expect(open).toHaveLength(1);

        const results = await Promise.all(
          stores.map((store, i) =>
            store.redeem({ tokenHash: open[0]!.tokenHash, passwordHash: `h${i}`, now: T0 + 1 }),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        const owner = await createPostgresUserStore(setup).findById(userId);
        expect(owner?.passwordHash).toBe(winners[0]!.user.passwordHash);
        expect((await stores[0]!.findByTokenHash(open[0]!.tokenHash))?.usedAt).toBe(T0 + 1);
      });
    });

    test("KYC submissions from 8 instances for one owner: exactly one is pending", async () => {
      await racing(postgres(), 8, async (pools, setup) => {
        const userId = await insertOwner(setup);
        const results = await Promise.all(
          pools.map((pool) =>
            createPostgresKycStore(pool).create({
              id: crypto.randomUUID(),
              userId,
              requestedLevel: 2,
              status: "PENDING",
              createdAt: T0,
              decidedAt: null,
              decidedBy: null,
            }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await createPostgresKycStore(setup).listPending(10)).toHaveLength(1);
      });
    });

    test("reputation sweeps from 4 instances at once recompute each due agent exactly once", async () => {
      await racing(postgres(), 4, async (pools, setup) => {
        const ownerId = await insertOwner(setup);
        const agents = createPostgresAgentStore(setup);
        for (let i = 0; i < 40; i++) await agents.create(agent(ownerId));
        const counts = await Promise.all(
          pools.map((pool) =>
            createPostgresReputationStore(pool).refreshDue(T0, 40, () => ({ reputation: 7, dueAt: T0 + 1 })),
          ),
        );
        expect(counts.reduce((a, b) => a + b, 0)).toBe(40);
        const listed = await agents.listByOwner(ownerId);
        expect(listed.every((a) => a.reputation === 7 && a.history.reputationComputedAt === T0)).toBe(true);
      });
    });

    test("logins from 4 instances to one new site count it once", async () => {
      await racing(postgres(), 4, async (pools, setup) => {
        const ownerId = await insertOwner(setup);
        const siteId = await insertSite(setup, ownerId);
        const a = agent(ownerId);
        await createPostgresAgentStore(setup).create(a);
        await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            createPostgresReputationStore(pools[i % pools.length]!).recordLogin(a.id, siteId, T0 + i),
          ),
        );
        expect((await createPostgresAgentStore(setup).findById(a.id))?.history).toMatchObject({
          successfulLogins: 12,
          distinctSites: 1,
        });
      });
    });
  });
});
