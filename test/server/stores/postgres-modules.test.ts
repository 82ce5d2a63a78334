/**
 * The agent-login, binding and OAuth stores on PostgreSQL: the conformance
 * suites SQLite passes, then what only a server with many connections can
 * show. Racing awaits on one pool already overlap on the server (unlike
 * bun:sqlite, whose calls are synchronous); here several separate pools, as
 * several instances would hold, race for each single-use step, and a site's
 * event stream is read while outcomes are committed concurrently, to show
 * that ids become visible in order (no reconnect with Last-Event-ID skips one).
 */

import { expect, test } from "bun:test";
import { createPostgresAgentKeyStore } from "../../../server/infrastructure/postgres/agent-keys-store.ts";
import { createPostgresAgentLoginStore } from "../../../server/infrastructure/postgres/agent-login-store.ts";
import { createPostgresAuditStore } from "../../../server/infrastructure/postgres/audit-store.ts";
import { createPostgresBindingStore } from "../../../server/infrastructure/postgres/bindings-store.ts";
import { connectPostgres, type Sql } from "../../../server/infrastructure/postgres/connection.ts";
import { createPostgresOAuthStores } from "../../../server/infrastructure/postgres/oauth-store.ts";
import type { LoginRequestRecord, OutcomeEvent } from "../../../server/modules/agent-login/store.ts";
import { describeWithPostgres, type PostgresServer } from "../postgres/postgres-server.ts";
import {
  type AgentKeyFixture,
  agent,
  agentKey,
  agentKeyStoreConformance,
  agentLoginStoreConformance,
  type BindingFixture,
  bindingRequest,
  bindingStoreConformance,
  loginRequest as pendingRequest,
} from "./conformance.ts";
import { loginAuditConformance } from "./login-audit-conformance.ts";
import { type OAuthFixture, oauthStoreConformance } from "./oauth-conformance.ts";
import { freshSchema, insertOwner, insertSite, postgresFactory } from "./postgres-fixture.ts";

async function insertAgent(sql: Sql, ownerId: string): Promise<string> {
  const record = agent(ownerId);
  await sql`INSERT INTO agents (id, owner_id, display_name, token_hash, status, created_at, updated_at)
            VALUES (${record.id}, ${record.ownerId}, ${record.displayName}, ${record.tokenHash}, ${record.status},
                    ${record.createdAt}, ${record.updatedAt})`;
  return record.id;
}

const POOLS = 4;
const PER_POOL = 8;
const RACERS = 32;

/**
 * A fresh schema and `POOLS` more pools on it, each with its connections
 * already open, so a race starts on live connections rather than on the
 * first connect of each.
 */
async function racingPools(server: PostgresServer) {
  const fresh = await freshSchema(server);
  const pools: Sql[] = [];
  for (let i = 0; i < POOLS; i++) {
    const pool = await connectPostgres({ url: server.url, schema: fresh.schema, max: PER_POOL });
    await Promise.all(Array.from({ length: PER_POOL }, () => pool`SELECT pg_sleep(0.01)`));
    pools.push(pool);
  }
  return {
    sql: fresh.sql,
    pools,
    /** The pool racer `i` goes through. */
    pool: (i: number) => pools[i % POOLS]!,
    async close() {
      await Promise.all(pools.map((pool) => pool.close()));
      await fresh.close();
    },
  };
}

/** A pending login request of `siteId` created at `now`. */
function loginRequest(siteId: string, now: number, overrides: Partial<LoginRequestRecord> = {}) {
  return pendingRequest(siteId, { createdAt: now, expiresAt: now + 300_000, ...overrides });
}

describeWithPostgres("PostgreSQL module stores", (postgres) => {
  agentKeyStoreConformance("postgres", async (): Promise<AgentKeyFixture> => {
    const fresh = await freshSchema(postgres());
    return {
      store: createPostgresAgentKeyStore(fresh.sql),
      addOwner: () => insertOwner(fresh.sql),
      addSite: (ownerId) => insertSite(fresh.sql, ownerId),
      addAgent: (ownerId) => insertAgent(fresh.sql, ownerId),
      close: fresh.close,
    };
  });

  test(`${RACERS} key registrations for one agent through ${POOLS} pools: exactly 5 are registered`, async () => {
    const race = await racingPools(postgres());
    try {
      const owner = await insertOwner(race.sql);
      const agentId = await insertAgent(race.sql, owner);
      const outcomes = await Promise.all(
        Array.from({ length: RACERS }, (_, i) =>
          createPostgresAgentKeyStore(race.pool(i)).register(agentKey(agentId, owner), 5),
        ),
      );
      expect(outcomes.filter((o) => o === "registered")).toHaveLength(5);
      expect(outcomes.filter((o) => o === "limit")).toHaveLength(RACERS - 5);
      expect(await createPostgresAgentKeyStore(race.sql).listActive(agentId)).toHaveLength(5);
    } finally {
      await race.close();
    }
  });

  test(`one key registered by ${RACERS} agents at once through ${POOLS} pools: exactly one holds it`, async () => {
    const race = await racingPools(postgres());
    try {
      const owner = await insertOwner(race.sql);
      const agents = await Promise.all(Array.from({ length: RACERS }, () => insertAgent(race.sql, owner)));
      const key = agentKey(agents[0]!, owner);
      const outcomes = await Promise.all(
        agents.map((agentId, i) =>
          createPostgresAgentKeyStore(race.pool(i)).register({ ...key, agentId }, 5),
        ),
      );
      expect(outcomes.filter((o) => o === "registered")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "exists")).toHaveLength(RACERS - 1);
    } finally {
      await race.close();
    }
  });

  agentLoginStoreConformance(
    "postgres",
    postgresFactory(postgres, (sql) => createPostgresAgentLoginStore(sql)),
  );

  loginAuditConformance(
    "postgres",
    postgresFactory(postgres, (sql) => ({
      login: createPostgresAgentLoginStore(sql),
      audit: createPostgresAuditStore(sql),
    })),
  );

  bindingStoreConformance("postgres", async (): Promise<BindingFixture> => {
    const fresh = await freshSchema(postgres());
    return {
      store: createPostgresBindingStore(fresh.sql),
      addOwner: () => insertOwner(fresh.sql),
      addSite: (ownerId) => insertSite(fresh.sql, ownerId),
      addAgent: (ownerId) => insertAgent(fresh.sql, ownerId),
      close: fresh.close,
    };
  });

  oauthStoreConformance("postgres", async (): Promise<OAuthFixture> => {
    const fresh = await freshSchema(postgres());
    return {
      store: createPostgresOAuthStores(fresh.sql),
      addOwner: () => insertOwner(fresh.sql),
      addSite: (ownerId) => insertSite(fresh.sql, ownerId),
      addAgent: (ownerId) => insertAgent(fresh.sql, ownerId),
      close: fresh.close,
    };
  });

  test(`${RACERS} approvals of one login request through ${POOLS} pools: exactly one wins, with one outcome`, async () => {
    const race = await racingPools(postgres());
    try {
      const siteId = await insertSite(race.sql);
      const now = Date.now();
      for (let round = 0; round < 3; round++) {
        const request = loginRequest(siteId, now);
        await createPostgresAgentLoginStore(race.sql).create(request);
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) =>
            createPostgresAgentLoginStore(race.pool(i)).approve({
              id: request.id,
              agentId: `agent-${i}`,
              passportJwt: `jwt-${i}`,
              passportExpiresAt: now + 60_000,
              now,
            }),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        const stored = await createPostgresAgentLoginStore(race.sql).findById(request.id);
        expect(stored).toEqual(winners[0]!.request);
        const [{ outcomes }] = await race.sql`
          SELECT count(*)::int AS outcomes FROM login_outcomes WHERE login_request_id = ${request.id}`;
        expect(outcomes).toBe(1);
      }
    } finally {
      await race.close();
    }
  }, 60_000);

  test(`${RACERS} redemptions of one code and rotations of one refresh token through ${POOLS} pools: one each`, async () => {
    const race = await racingPools(postgres());
    try {
      const now = Date.now();
      const setup = createPostgresOAuthStores(race.sql);
      for (let round = 0; round < 3; round++) {
        const grantId = crypto.randomUUID();
        await setup.tokens.createGrant({
          id: grantId,
          clientId: "mcp_client",
          subjectType: "agent",
          subjectId: "agent-1",
          resource: "https://tools.example/mcp",
          scopes: [],
          createdAt: now,
          revokedAt: null,
          revokedReason: null,
        });
        const codeHash = crypto.randomUUID();
        await setup.flows.createCode({
          codeHash,
          grantId,
          clientId: "mcp_client",
          redirectUri: "http://127.0.0.1:1/cb",
          codeChallenge: "c".repeat(43),
          resource: "https://tools.example/mcp",
          scopes: [],
          subjectType: "agent",
          subjectId: "agent-1",
          createdAt: now,
          expiresAt: now + 60_000,
          consumedAt: null,
        });
        const tokenHash = crypto.randomUUID();
        await setup.tokens.createRefreshToken({
          tokenHash,
          grantId,
          status: "ACTIVE",
          createdAt: now,
          expiresAt: now + 60_000,
        });

        const uses = await Promise.all(
          Array.from({ length: RACERS }, (_, i) =>
            createPostgresOAuthStores(race.pool(i)).flows.consumeCode(codeHash, now + i),
          ),
        );
        expect(uses.filter((u) => u?.firstUse)).toHaveLength(1);
        expect(uses.filter((u) => u !== null && !u.firstUse)).toHaveLength(RACERS - 1);

        const rotations = await Promise.all(
          Array.from({ length: RACERS }, (_, i) =>
            createPostgresOAuthStores(race.pool(i)).tokens.rotateRefreshToken(tokenHash),
          ),
        );
        expect(rotations.filter((r) => r?.rotated)).toHaveLength(1);
        expect(
          rotations.filter((r) => r !== null && !r.rotated && r.token.status === "ROTATED"),
        ).toHaveLength(RACERS - 1);

        const assertions = await Promise.all(
          Array.from({ length: RACERS }, (_, i) =>
            createPostgresOAuthStores(race.pool(i)).tokens.useAssertionId("c", tokenHash, now + 60_000, now),
          ),
        );
        expect(assertions.filter(Boolean)).toHaveLength(1);
      }
    } finally {
      await race.close();
    }
  }, 60_000);

  test(`${RACERS} completions and denials of one binding through ${POOLS} pools: exactly one wins`, async () => {
    const race = await racingPools(postgres());
    try {
      const ownerId = await insertOwner(race.sql);
      const siteId = await insertSite(race.sql, ownerId);
      const agentId = await insertAgent(race.sql, ownerId);
      const now = Date.now();
      for (let round = 0; round < 3; round++) {
        const binding = bindingRequest(siteId, { createdAt: now, expiresAt: now + 600_000 });
        await createPostgresBindingStore(race.sql).create(binding);
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => {
            const store = createPostgresBindingStore(race.pool(i));
            return i % 4 === 3
              ? store.deny({ id: binding.id, ownerId: null, now })
              : store.complete({ id: binding.id, agentId, ownerId, now });
          }),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await createPostgresBindingStore(race.sql).findById(binding.id)).toEqual(winners[0]!);
      }
    } finally {
      await race.close();
    }
  }, 60_000);

  test("a site's outcome ids become visible in order: a reader following eventsAfter never skips one", async () => {
    const race = await racingPools(postgres());
    try {
      const siteId = await insertSite(race.sql);
      const otherSite = await insertSite(race.sql);
      const now = Date.now();
      const setup = createPostgresAgentLoginStore(race.sql);
      const approvable = Array.from({ length: 160 }, () => loginRequest(siteId, now));
      // Overdue ones on both sites, so expiry sweeps (several sites in one transaction) race the approvals.
      const overdue = Array.from({ length: 40 }, (_, i) =>
        loginRequest(i % 2 === 0 ? siteId : otherSite, now - 400_000, { expiresAt: now - 1 }),
      );
      await Promise.all([...approvable, ...overdue].map((r) => setup.create(r)));

      let writing = true;
      const seen: number[] = [];
      const orderErrors: string[] = [];
      const reader = (async () => {
        const store = createPostgresAgentLoginStore(race.sql);
        let lastSeen = 0;
        // One more read after the writers finish picks up whatever committed last.
        for (let more = true; more; ) {
          more = writing;
          for (const event of await store.eventsAfter(siteId, lastSeen, now)) {
            if (event.id <= lastSeen) orderErrors.push(`${event.id} after ${lastSeen}`);
            seen.push(event.id);
            lastSeen = event.id;
          }
        }
      })();

      const written: OutcomeEvent[] = [];
      await Promise.all([
        ...approvable.map(async (request, i) => {
          const result = await createPostgresAgentLoginStore(race.pool(i)).approve({
            id: request.id,
            agentId: "agent-1",
            passportJwt: `jwt-${i}`,
            passportExpiresAt: now + 60_000,
            now,
          });
          if (result) written.push(result.event);
        }),
        ...Array.from({ length: 4 }, async (_, i) => {
          written.push(...(await createPostgresAgentLoginStore(race.pool(i)).expireDue(now, now + 60_000)));
        }),
      ]).finally(() => {
        writing = false;
      });
      await reader;

      const ofSite = written.filter((e) => e.siteId === siteId).map((e) => e.id);
      expect(ofSite).toHaveLength(approvable.length + overdue.length / 2);
      expect(written.filter((e) => e.siteId === otherSite)).toHaveLength(overdue.length / 2);
      expect(orderErrors).toEqual([]);
      expect(seen).toEqual([...ofSite].sort((a, b) => a - b));
      const replay = (await setup.eventsAfter(siteId, 0, now)).map((e) => e.id);
      expect(replay).toEqual(seen);
    } finally {
      await race.close();
    }
  }, 60_000);
});
