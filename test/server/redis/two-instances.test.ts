/**
 * Two server instances behind one (imaginary) load balancer: the same SQLite
 * file, the same Redis, each built by `createApp` as `main.ts` builds it
 * with REDIS_URL set. The site's stream is on A; the agent talks to B.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyPassport } from "@lime-ts/core/passport";
import { closeRedis, connectRedis } from "../../../server/infrastructure/redis/connection.ts";
import {
  openRedisSharedState,
  type RedisSharedState,
} from "../../../server/infrastructure/redis/shared-state.ts";
import { createSqliteAgentLoginStore } from "../../../server/infrastructure/sqlite/agent-login-store.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../../server/testing.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { api, SseClient, solvePow } from "../helpers.ts";
import { describeWithRedis } from "./redis-server.ts";
import { type CapturingLogger, capturingLogger } from "./support.ts";

const LOGIN_REQUESTS_PER_MINUTE = 5;

interface Instance {
  t: TestServer;
  shared: RedisSharedState;
  logger: CapturingLogger;
  stop(): Promise<void>;
}

describeWithRedis("two instances on one database and one Redis", (redis) => {
  let dir: string;
  let a: Instance;
  let b: Instance;
  const clock = new FakeClock();
  const keyEncryptionKey = crypto.getRandomValues(new Uint8Array(32));

  /** What `main.ts` does with REDIS_URL set, on the shared database file. */
  const instance = async (): Promise<Instance> => {
    const databasePath = join(dir, "lime.sqlite");
    const db = openDatabase(databasePath);
    const agentLogin = createSqliteAgentLoginStore(db);
    const logger = capturingLogger();
    const shared = await openRedisSharedState({
      url: redis().url,
      logger,
      agentLogin,
      clock,
      maxReconnectDelayMs: 200,
    });
    const t = await startTestServer({
      databasePath,
      clock,
      keyEncryptionKey,
      logger,
      config: { rateLimits: { loginRequestsPerMinute: LOGIN_REQUESTS_PER_MINUTE } },
      extra: { stores: { agentLogin }, rateLimitStore: shared.rateLimitStore, fanout: shared.fanout },
    });
    return {
      t,
      shared,
      logger,
      async stop() {
        await t.stop();
        await shared.close();
        db.close();
      },
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lime-two-instances-"));
    a = await instance();
    b = await instance();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const createRequest = (on: Instance, siteToken: string) =>
    api(on.t.url, "/api/v1/modules/agent-login/requests", {
      method: "POST",
      headers: { "x-site-token": siteToken },
      json: {},
    });

  /** The agent's side, all on `on`: fetch the challenge, solve it with core's `solve`, approve. */
  const approveAsAgent = async (on: Instance, id: string, agentToken: string) => {
    const challenge = await api(on.t.url, `/api/v1/auth/requests/${id}`);
    expect(challenge.status).toBe(200);
    const { pow_challenge, pow_difficulty } = challenge.body.data;
    return api(on.t.url, `/api/v1/modules/agent-login/requests/${id}/approve`, {
      method: "POST",
      headers: { "x-agent-token": agentToken },
      json: { pow_nonce: await solvePow(pow_challenge, pow_difficulty) },
    });
  };

  const streamOn = async (on: Instance, p: Provisioned) => {
    const stream = await SseClient.connect(`${on.t.url}/api/v1/modules/agent-login/events`, {
      "x-site-token": p.siteToken,
    });
    expect(stream.status).toBe(200);
    return stream;
  };

  const approvedFor = (stream: SseClient, id: string, timeoutMs?: number) =>
    stream
      .waitFor(
        (events) => events.some((e) => e.data.type === "approved" && e.data.login_request_id === id),
        timeoutMs,
      )
      .then((events) => events.find((e) => e.data.login_request_id === id)!);

  test("an approval on B reaches the site's stream on A, and the passport verifies against A's JWKS", async () => {
    const p = await a.t.provision();
    const stream = await streamOn(a, p);
    try {
      const created = await createRequest(a, p.siteToken);
      expect(created.status).toBe(201);
      const id = created.body.data.login_request_id;

      const approved = await approveAsAgent(b, id, p.agentToken);
      expect(approved.status).toBe(200);
      expect(approved.body.data).toMatchObject({ status: "APPROVED", approved_agent_id: p.agentId });

      const event = await approvedFor(stream, id);
      expect(event.id).toMatch(/^\d+$/);
      const jwks = await api(a.t.url, "/.well-known/jwks.json");
      const passport = await verifyPassport(event.data.agent_passport_jwt, jwks.body, {
        issuer: a.t.config.publicUrl,
        audience: "lime-site-login",
        requestId: id,
        siteId: p.siteId,
        now: Math.floor(clock.now() / 1000),
      });
      expect(passport.agentId).toBe(p.agentId);

      // Written to A's stream, so delivered, as B sees it too.
      const after = await api(b.t.url, `/api/v1/modules/agent-login/requests/${id}`, {
        headers: { "x-site-token": p.siteToken },
      });
      expect(after.body.data.status).toBe("DELIVERED");
      expect(after.body.data.agent_passport_jwt).toBe(event.data.agent_passport_jwt);
      expect(stream.outcomes()).toHaveLength(1);
    } finally {
      await stream.close();
    }
  });

  test("the per-site rate limit is one budget across both instances", async () => {
    const p = await b.t.provision();
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_REQUESTS_PER_MINUTE; i++) {
      statuses.push((await createRequest(i % 2 === 0 ? a : b, p.siteToken)).status);
    }
    expect(statuses).toEqual(Array(LOGIN_REQUESTS_PER_MINUTE).fill(201));
    for (const on of [a, b]) {
      const refused = await createRequest(on, p.siteToken);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("RATE_LIMIT_EXCEEDED");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  test(
    "Redis restarted mid-flow: requests keep being served, and the outcome reached meanwhile arrives after",
    async () => {
      const p = await a.t.provision();
      const stream = await streamOn(a, p);
      try {
        await redis().kill();

        for (const on of [a, b]) expect((await api(on.t.url, "/health")).status).toBe(200);
        const created = await createRequest(a, p.siteToken);
        expect(created.status).toBe(201);
        const id = created.body.data.login_request_id;
        const approved = await approveAsAgent(b, id, p.agentToken);
        expect(approved.status).toBe(200);
        const state = await api(a.t.url, `/api/v1/modules/agent-login/requests/${id}`, {
          headers: { "x-site-token": p.siteToken },
        });
        expect(state.body.data.status).toBe("APPROVED");
        expect(a.logger.entries.some((e) => e.message.includes("rate limits are counted per instance"))).toBe(
          true,
        );

        await redis().start();
        // Generous waits: the reconnect is judged by what arrives, not by how soon.
        await approvedFor(stream, id, 15_000);

        // Fan-out and shared counters are back: a second approval on B reaches A, and the hit is in Redis.
        const again = (await createRequest(b, p.siteToken)).body.data.login_request_id;
        expect((await approveAsAgent(b, again, p.agentToken)).status).toBe(200);
        await approvedFor(stream, again, 15_000);
        const probe = await connectRedis({ url: redis().url, logger: a.logger, name: "probe" });
        try {
          // The restarted Redis is empty; counters reappear once each instance's connection is back.
          const spare = (await createRequest(a, p.siteToken)).body.data.login_request_id;
          const deadline = Date.now() + 15_000;
          let counters: string[] = [];
          while (counters.length === 0 && Date.now() < deadline) {
            for (const on of [a, b])
              expect((await api(on.t.url, `/api/v1/auth/requests/${spare}`)).status).toBe(200);
            counters = await probe.keys("lime:rl:*");
            if (counters.length === 0) await Bun.sleep(50);
          }
          expect(counters.length).toBeGreaterThan(0);
        } finally {
          await closeRedis(probe);
        }
        expect(stream.outcomes().map((e) => e.data.login_request_id)).toEqual([id, again]);
        for (const on of [a, b]) {
          expect(on.logger.entries.filter((e) => e.level === "error")).toEqual([]);
        }
      } finally {
        await stream.close();
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
