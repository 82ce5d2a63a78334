/**
 * Three server processes on one PostgreSQL, each in its own working
 * directory, started as an operator starts them (`bun server/main.ts`), the
 * site's SDK behind a round-robin balancer. Run once on PostgreSQL alone
 * (LISTEN/NOTIFY fan-out, counters table) and once with Redis as well.
 *
 * Waits are generous and never judged: these tests check what arrives, not
 * how soon.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { verifyPassport } from "@lime-ts/core/passport";
import { type LoginOutcome, SiteClient } from "@lime-ts/sdk";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { api, SseClient, solvePow } from "../helpers.ts";
import { type RedisServer, redisServerPath, startRedisServer } from "../redis/redis-server.ts";
import {
  type Balancer,
  FLEET_METRICS_TOKEN,
  type FleetInstance,
  startBalancer,
  startInstance,
} from "./fleet.ts";
import { describeWithPostgres } from "./postgres-server.ts";

const ADMIN_TOKEN = "fleet-admin-token-0123456789abcdef0123456789abcdef";
const FLEET_TIMEOUT_MS = Math.max(SLOW_TEST_TIMEOUT_MS, 90_000);

interface Owner {
  siteToken: string;
  siteId: string;
  agentToken: string;
  agentId: string;
}

async function ok(base: string, path: string, init: Parameters<typeof api>[2] = {}) {
  const response = await api(base, path, init);
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data;
}

/** An owner with one site and one agent, registered through `base`. */
async function provision(base: string): Promise<Owner> {
  const email = `fleet-${crypto.randomUUID()}@example.test`;
  const password = "correct horse battery staple";
  await ok(base, "/api/v1/foundation/users/register", { method: "POST", json: { email, password } });
  const session = await ok(base, "/api/v1/foundation/users/login", {
    method: "POST",
    json: { email, password },
  });
  const auth = { authorization: `Bearer ${session.session_token}` };
  const site = await ok(base, "/api/v1/foundation/sites/register", {
    method: "POST",
    headers: auth,
    json: { display_name: "Fleet shop", pow_difficulty: 1 },
  });
  const agent = await ok(base, "/api/v1/core/agents/register", {
    method: "POST",
    headers: auth,
    json: { display_name: "Fleet agent" },
  });
  return {
    siteToken: site.site_token,
    siteId: site.site_id,
    agentToken: agent.agent_token,
    agentId: agent.agent_id,
  };
}

const createRequest = (base: string, owner: Owner) =>
  ok(base, "/api/v1/modules/agent-login/requests", {
    method: "POST",
    headers: { "x-site-token": owner.siteToken },
    json: {},
  }).then((data) => data.login_request_id as string);

async function nonceFor(base: string, id: string): Promise<string> {
  const challenge = await ok(base, `/api/v1/auth/requests/${id}`);
  return solvePow(challenge.pow_challenge, challenge.pow_difficulty);
}

const approve = (base: string, owner: Owner, id: string, nonce: string) =>
  api(base, `/api/v1/modules/agent-login/requests/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": owner.agentToken },
    json: { pow_nonce: nonce },
  });

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

function fleetSuite(variant: "postgres" | "postgres+redis") {
  describeWithPostgres(`a fleet of three instances on ${variant}`, (postgres) => {
    let redis: RedisServer | null = null;
    let balancer: Balancer;
    let databaseUrl: string;
    const kek = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    const instances: FleetInstance[] = [];
    const start = (name: string) =>
      startInstance(name, {
        databaseUrl,
        publicUrl: balancer.url,
        kek,
        adminToken: ADMIN_TOKEN,
        ...(redis && { redisUrl: redis.url }),
      });

    /** The site's SDK through the balancer, as a site behind a load balancer runs it, collecting outcomes. */
    const siteBehindBalancer = async (owner: Owner) => {
      const received: LoginOutcome[] = [];
      const site = new SiteClient({
        baseUrl: balancer.url,
        siteToken: owner.siteToken,
        siteId: owner.siteId,
        events: { reconnectBaseMs: 100, reconnectMaxMs: 1000 },
      });
      const subscription = site.onLogin((outcome) => {
        received.push(outcome);
      });
      await until("the stream to open", async () => (site.events.connected ? true : null));
      return { received, subscription };
    };

    beforeAll(async () => {
      if (variant === "postgres+redis") redis = await startRedisServer();
      databaseUrl = await postgres().createDatabase();
      balancer = await startBalancer();
      // Booted together: one migrates and bootstraps the keys, the others wait on the lock and adopt them.
      instances.push(...(await Promise.all(["a", "b", "c"].map(start))));
      balancer.setBackends(instances);
    }, FLEET_TIMEOUT_MS);

    afterAll(async () => {
      // FLEET_DEBUG=1 prints every instance's log, for a failure that needs the servers' side.
      if (process.env.FLEET_DEBUG) for (const i of instances) console.log(i.name, i.logs.join("\n"));
      await Promise.all(instances.map((instance) => instance.kill("SIGKILL")));
      await balancer?.close();
      await redis?.stop();
    });

    test("the site's stream on A, the challenge from B, the approval on C: the passport verifies", async () => {
      const [a, b, c] = instances as [FleetInstance, FleetInstance, FleetInstance];
      const owner = await provision(a.url);
      const stream = await SseClient.connect(`${a.url}/api/v1/modules/agent-login/events`, {
        "x-site-token": owner.siteToken,
      });
      try {
        expect(stream.status).toBe(200);
        const id = await createRequest(a.url, owner);
        const nonce = await nonceFor(b.url, id);
        const approved = await approve(c.url, owner, id, nonce);
        expect(approved.status).toBe(200);
        const events = await stream.waitFor((all) => all.some((e) => e.data.login_request_id === id), 30_000);
        const event = events.find((e) => e.data.login_request_id === id)!;
        // Every instance serves the one JWKS, so any of them verifies what another signed.
        for (const instance of instances) {
          const jwks = await ok(instance.url, "/.well-known/jwks.json").catch(
            async () => (await api(instance.url, "/.well-known/jwks.json")).body,
          );
          const passport = await verifyPassport(event.data.agent_passport_jwt, jwks, {
            issuer: balancer.url,
            audience: "lime-site-login",
            requestId: id,
            siteId: owner.siteId,
          });
          expect(passport.agentId).toBe(owner.agentId);
        }
      } finally {
        await stream.close();
      }
      // Nothing on disk: no SQLite file, no development key, in any instance's directory.
      for (const instance of instances) expect(instance.filesWritten()).toEqual([]);
      // Ready, and the pool's use is on /metrics.
      for (const instance of instances) {
        const ready = await api(instance.url, "/ready");
        expect(ready.status).toBe(200);
        expect(ready.body.data.checks).toMatchObject({ database: "ok", signing_keys: "ok" });
        if (redis) expect(ready.body.data.checks.redis).toBe("ok");
        const metrics = await fetch(`${instance.url}/metrics`, {
          headers: { authorization: `Bearer ${FLEET_METRICS_TOKEN}` },
        });
        const text = await metrics.text();
        expect(text).toMatch(/^lime_database_pool_connections_max \d+$/m);
        expect(text).toMatch(/^lime_database_pool_connections_in_use \d+$/m);
      }
    });

    test("32 approvals racing over the three instances: exactly one wins, and one outcome is sent", async () => {
      const owner = await provision(instances[0]!.url);
      const stream = await SseClient.connect(`${instances[1]!.url}/api/v1/modules/agent-login/events`, {
        "x-site-token": owner.siteToken,
      });
      try {
        const id = await createRequest(instances[2]!.url, owner);
        const nonce = await nonceFor(instances[0]!.url, id);
        const answers = await Promise.all(
          Array.from({ length: 32 }, (_, i) => approve(instances[i % 3]!.url, owner, id, nonce)),
        );
        const statuses = answers.map((answer) => answer.status);
        expect(statuses.filter((status) => status === 200)).toHaveLength(1);
        expect(statuses.filter((status) => status !== 200).every((status) => status === 409)).toBe(true);
        await stream.waitFor((all) => all.some((e) => e.data.login_request_id === id), 30_000);
        // A moment for any duplicate to show up; there must be none.
        await Bun.sleep(500);
        expect(stream.outcomes().filter((e) => e.data.login_request_id === id)).toHaveLength(1);
      } finally {
        await stream.close();
      }
    });

    test("a key rotation on A reaches every instance's JWKS within a few maintenance ticks", async () => {
      const [a] = instances as [FleetInstance];
      const rotated = await ok(a.url, "/api/v1/admin/keys/rotate", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        json: {},
      });
      for (const instance of instances) {
        await until(`${instance.name} to sign with ${rotated.current_kid}`, async () => {
          const jwks = (await api(instance.url, "/.well-known/jwks.json")).body as {
            keys: Array<{ kid: string }>;
          };
          return jwks.keys[0]?.kid === rotated.current_kid ? true : null;
        });
      }
    });

    test(
      "an instance killed with -9 while holding the stream: the site SDK reconnects through the balancer and gets every outcome",
      async () => {
        const owner = await provision(balancer.url);
        const { received, subscription } = await siteBehindBalancer(owner);
        try {
          const holder = instances.find((i) => i.name === balancer.routed.at(-1)) ?? instances[0]!;
          const ids: string[] = [];
          const loginOnce = async () => {
            const id = await createRequest(balancer.url, owner);
            ids.push(id);
            const answer = await approve(balancer.url, owner, id, await nonceFor(balancer.url, id));
            expect(answer.status).toBe(200);
          };
          for (let i = 0; i < 3; i++) await loginOnce();
          await holder.kill("SIGKILL");
          for (let i = 0; i < 3; i++) await loginOnce();
          await until("every outcome", async () => (received.length >= ids.length ? true : null), 45_000);
          await Bun.sleep(500);
          const approved = received.filter((o) => o.type === "approved").map((o) => o.requestId);
          expect(approved.sort()).toEqual([...ids].sort());
          for (const outcome of received) {
            if (outcome.type === "approved") expect(outcome.passport.agentId).toBe(owner.agentId);
          }
        } finally {
          await subscription.stop();
          // Replace the killed instance, so the next test has three again.
          const dead = instances.findIndex((i) => !i.alive);
          if (dead >= 0) {
            instances[dead] = await start(`${instances[dead]!.name}2`);
            balancer.setBackends(instances);
          }
        }
      },
      FLEET_TIMEOUT_MS,
    );

    test(
      "PostgreSQL stopped and restarted mid-flow: 503 with Retry-After meanwhile, no approval lost or doubled, recovery without restart",
      async () => {
        const owner = await provision(balancer.url);
        const { received, subscription } = await siteBehindBalancer(owner);
        const raw = await SseClient.connect(`${instances[0]!.url}/api/v1/modules/agent-login/events`, {
          "x-site-token": owner.siteToken,
        });
        try {
          const before = await createRequest(instances[1]!.url, owner);
          const beforeNonce = await nonceFor(instances[2]!.url, before);
          const pending = await createRequest(instances[1]!.url, owner);
          const pendingNonce = await nonceFor(instances[1]!.url, pending);
          expect((await approve(instances[2]!.url, owner, before, beforeNonce)).status).toBe(200);

          await postgres().kill();
          for (const instance of instances) {
            const refused = await approve(instance.url, owner, pending, pendingNonce);
            expect(refused.status).toBe(503);
            expect(refused.body.error.code).toBe("SERVICE_UNAVAILABLE");
            expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
            expect((await api(instance.url, "/health")).status).toBe(200);
            const ready = await api(instance.url, "/ready");
            expect(ready.status).toBe(503);
            expect(ready.body.error.detail.failing).toContain("database");
          }
          // A stream whose keepalive finds the database away says so and ends; the SDK reconnects.
          await raw.waitFor((all) => all.some((e) => e.data.type === "error"), 30_000);
          expect(raw.events.find((e) => e.data.type === "error")!.data.code).toBe("SERVICE_UNAVAILABLE");

          await postgres().start();
          for (const instance of instances) {
            await until(`${instance.name} to answer again`, async () => {
              const answer = await api(instance.url, `/api/v1/auth/requests/${pending}`);
              return answer.status === 200 ? true : null;
            });
          }
          expect((await approve(instances[0]!.url, owner, pending, pendingNonce)).status).toBe(200);
          expect((await approve(instances[1]!.url, owner, pending, pendingNonce)).status).toBe(409);
          await until(
            "both outcomes at the site",
            async () =>
              [before, pending].every((id) => received.some((o) => o.requestId === id)) ? true : null,
            45_000,
          );
          await Bun.sleep(500);
          for (const id of [before, pending]) {
            const outcomes = received.filter((o) => o.requestId === id);
            expect(outcomes.map((o) => o.type)).toEqual(["approved"]);
          }
        } finally {
          await raw.close();
          await subscription.stop();
        }
      },
      FLEET_TIMEOUT_MS,
    );

    if (variant === "postgres+redis") {
      test(
        "Redis killed mid-flow: logins go on across instances, and every outcome reaches the site",
        async () => {
          const owner = await provision(balancer.url);
          const { received, subscription } = await siteBehindBalancer(owner);
          try {
            await redis!.kill();
            // Still ready (the instances serve without Redis), and saying what is missing.
            for (const instance of instances) {
              await until(`${instance.name} to report Redis degraded`, async () => {
                const ready = await api(instance.url, "/ready");
                return ready.status === 200 && ready.body.data.degraded.includes("redis") ? true : null;
              });
            }
            const ids: string[] = [];
            for (const [i, instance] of instances.entries()) {
              const id = await createRequest(instance.url, owner);
              ids.push(id);
              const other = instances[(i + 1) % instances.length]!;
              expect((await approve(other.url, owner, id, await nonceFor(other.url, id))).status).toBe(200);
            }
            await redis!.start();
            await until(
              "every outcome at the site",
              async () => (ids.every((id) => received.some((o) => o.requestId === id)) ? true : null),
              45_000,
            );
            await Bun.sleep(500);
            for (const id of ids) {
              expect(received.filter((o) => o.requestId === id).map((o) => o.type)).toEqual(["approved"]);
            }
          } finally {
            await subscription.stop();
          }
        },
        FLEET_TIMEOUT_MS,
      );
    }
  });
}

fleetSuite("postgres");
if (redisServerPath || process.env.CI) fleetSuite("postgres+redis");
