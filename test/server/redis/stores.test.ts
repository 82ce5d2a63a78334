import type { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createMemoryRateLimitStore } from "../../../server/infrastructure/memory/rate-limit-store.ts";
import {
  closeRedis,
  connectRedis,
  type RedisClient,
  RedisUnavailableError,
} from "../../../server/infrastructure/redis/connection.ts";
import {
  createRedisOutcomeFanout,
  type RedisOutcomeFanout,
} from "../../../server/infrastructure/redis/outcome-fanout.ts";
import { createRedisRateLimitStore } from "../../../server/infrastructure/redis/rate-limit-store.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores, type Stores } from "../../../server/infrastructure/sqlite/stores.ts";
import { FakeClock, freePort } from "../../../server/testing.ts";
import { outcomeFanoutConformance, rateLimitStoreConformance } from "../stores/conformance.ts";
import { describeWithRedis } from "./redis-server.ts";
import { approvedOutcome, type CapturingLogger, capturingLogger, collect } from "./support.ts";

describeWithRedis("Redis stores", (redis) => {
  const opened: RedisClient[] = [];
  const fanouts: RedisOutcomeFanout[] = [];
  const logger = capturingLogger();
  let db: Database;
  let stores: Stores;
  const clock = new FakeClock();

  const connection = async (name = "test", log: CapturingLogger = logger) => {
    const client = await connectRedis({ url: redis().url, logger: log, name });
    opened.push(client);
    return client;
  };

  /**
   * One instance's fan-out: its own publisher and subscriber connections, as
   * `openRedisSharedState` builds. A test that counts log lines passes its own `log`.
   */
  const instance = async (channel: string, log: CapturingLogger = logger) => {
    const fanout = await createRedisOutcomeFanout({
      publisher: await connection("publisher", log),
      subscriber: await connection("subscriber", log),
      events: stores.agentLogin,
      clock,
      logger: log,
      channel,
    });
    fanouts.push(fanout);
    return fanout;
  };

  beforeAll(() => {
    db = openDatabase(":memory:");
    stores = createSqliteStores(db);
  });

  afterAll(async () => {
    for (const fanout of fanouts) await fanout.close();
    await Promise.all(opened.map(closeRedis));
    db.close();
  });

  const approved = () => approvedOutcome(stores, clock);

  rateLimitStoreConformance("redis", async () =>
    createRedisRateLimitStore(await connection(), {
      fallback: createMemoryRateLimitStore(),
      logger,
      prefix: `t-${crypto.randomUUID()}:`,
    }),
  );

  outcomeFanoutConformance("redis (one instance)", () => instance(`c-${crypto.randomUUID()}`));

  test("rate limits: two instances count one window; concurrent hits over both get distinct counts", async () => {
    const prefix = `t-${crypto.randomUUID()}:`;
    const options = { fallback: createMemoryRateLimitStore(), logger, prefix };
    const a = createRedisRateLimitStore(await connection(), options);
    const b = createRedisRateLimitStore(await connection(), options);
    const now = clock.now();
    const hits = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).hit("site:s1", 60_000, now)),
    );
    expect(hits.map((h) => h.count).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    expect(new Set(hits.map((h) => h.resetAt)).size).toBe(1);
  });

  test("rate limits: a counter expires after its window, and its key does not hold the client's address", async () => {
    const client = await connection();
    const prefix = `t-${crypto.randomUUID()}:`;
    const store = createRedisRateLimitStore(client, {
      fallback: createMemoryRateLimitStore(),
      logger,
      prefix,
    });
    const window = 60_000;
    const now = clock.now();
    const { resetAt } = await store.hit("auth:203.0.113.7", window, now);
    const keys = await client.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain("203.0.113.7");
    const ttl = await client.pTTL(keys[0]!);
    expect(ttl).toBeGreaterThan(resetAt - now);
    expect(ttl).toBeLessThanOrEqual(resetAt - now + 5000);
  });

  test("rate limits: an emptied script cache (a restarted Redis) is reloaded on the next hit", async () => {
    const local = capturingLogger();
    const client = await connection("test", local);
    const store = createRedisRateLimitStore(client, {
      fallback: createMemoryRateLimitStore(),
      logger: local,
      prefix: `t-${crypto.randomUUID()}:`,
    });
    const now = clock.now();
    expect((await store.hit("k", 60_000, now)).count).toBe(1);
    await client.scriptFlush();
    expect((await store.hit("k", 60_000, now)).count).toBe(2);
    expect(local.entries.filter((e) => e.message.includes("per instance"))).toEqual([]);
  });

  test("rate limits: when Redis cannot answer, hits are counted in process and the outage is logged once", async () => {
    const client = await connection();
    const local = capturingLogger();
    const store = createRedisRateLimitStore(client, {
      fallback: createMemoryRateLimitStore(),
      logger: local,
      prefix: `t-${crypto.randomUUID()}:`,
    });
    client.destroy();
    const now = clock.now();
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push((await store.hit("k", 60_000, now)).count);
    expect(counts).toEqual([1, 2, 3]);
    expect(local.entries.map((e) => [e.level, e.message])).toEqual([
      ["warn", "Redis unavailable; rate limits are counted per instance until it returns"],
    ]);
  });

  test("rate limits: after a Redis that stalls rather than refuses, hits skip it for a while instead of each waiting", async () => {
    const admin = await connection("admin");
    const client = await connection("stalling");
    const prefix = `t-${crypto.randomUUID()}:`;
    const store = createRedisRateLimitStore(client, {
      fallback: createMemoryRateLimitStore(),
      logger: capturingLogger(),
      prefix,
      replyTimeoutMs: 100,
      retryAfterFailureMs: 60_000,
    });
    const now = clock.now();
    // Redis holds every command for 300 ms: the first hit times out, and Redis runs it late.
    await admin.sendCommand(["CLIENT", "PAUSE", "300", "ALL"]);
    expect((await store.hit("k", 60_000, now)).count).toBe(1);
    expect((await store.hit("k", 60_000, now)).count).toBe(2);
    // Redis answers again (admin's commands wait out the pause) and has run the late hit:
    // waited for by its key rather than by a sleep that a busy machine could outlast.
    while ((await admin.keys(`${prefix}*`)).length === 0) await Bun.sleep(10);
    expect((await store.hit("k", 60_000, now)).count).toBe(3);
    // Only the first hit ever reached Redis (late); the others went straight to the fallback.
    const keys = await admin.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(await admin.get(keys[0]!)).toBe("1");
  });

  test("fan-out: an outcome published on B reaches a subscriber on A, read back whole from the shared store", async () => {
    const channel = `c-${crypto.randomUUID()}`;
    const a = await instance(channel);
    const b = await instance(channel);
    const event = await approved();
    const onA = collect(a, event.siteId);
    const onB = collect(b, event.siteId);
    b.publish(event);
    expect(await onA.next()).toEqual(event);
    // B's own stream got it directly; the echo of its notification is not delivered a second time.
    const marker = await approved();
    const onAMarker = collect(a, marker.siteId);
    b.publish(marker);
    await onAMarker.next();
    expect(onB.events).toEqual([event]);
    expect(onA.events).toEqual([event]);
  });

  test("fan-out: Redis carries ids only, never the passport", async () => {
    const channel = `c-${crypto.randomUUID()}`;
    const spy = await connection("spy");
    const seen: string[] = [];
    await spy.subscribe(channel, (message) => {
      seen.push(message);
    });
    const a = await instance(channel);
    const b = await instance(channel);
    const event = await approved();
    const onA = collect(a, event.siteId);
    b.publish(event);
    await onA.next();
    await spy.unsubscribe(channel);
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toContain(event.passportJwt!);
    expect(seen[0]).not.toContain(event.loginRequestId);
    expect(JSON.parse(seen[0]!)).toMatchObject({ v: 1, site_id: event.siteId, event_id: event.id });
  });

  test("fan-out: forged and malformed notifications deliver nothing but real outcomes of the site", async () => {
    const channel = `c-${crypto.randomUUID()}`;
    const local = capturingLogger();
    const forger = await connection("forger");
    const a = await instance(channel, local);
    const b = await instance(channel, local);
    const target = await approved();
    const elsewhere = await approved();
    const onA = collect(a, target.siteId);
    const forged = (siteId: string, eventId: unknown) =>
      JSON.stringify({ v: 1, origin: "forger", site_id: siteId, event_id: eventId });
    // Another site's outcome under this site's id, an unknown id, and garbage.
    await forger.publish(channel, forged(target.siteId, elsewhere.id));
    await forger.publish(channel, forged(target.siteId, 9_999_999));
    await forger.publish(channel, forged(target.siteId, -1));
    await forger.publish(channel, "{not json");
    await forger.publish(channel, JSON.stringify({ v: 1, origin: "x", site_id: target.siteId }));
    // The forged notifications were published first and A reads in arrival order, so once the real one
    // is through, every forged one has been handled.
    b.publish(target);
    expect(await onA.next()).toEqual(target);
    expect(onA.events).toEqual([target]);
    // Once per instance (A and B both saw them), not once per message.
    expect(local.entries.filter((e) => e.message.includes("malformed outcome notification"))).toHaveLength(2);
  });

  test("connection: an unreachable REDIS_URL fails at boot with an error naming it, without the password", async () => {
    const port = await freePort();
    const url = `redis://lime:s3cret-password@127.0.0.1:${port}/0`;
    const error = await connectRedis({ url, logger, name: "boot", connectTimeoutMs: 150 }).catch((e) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toStartWith("REDIS_URL: cannot reach Redis at redis://127.0.0.1:");
    expect(error.message).not.toContain("s3cret");
  });

  test("connection: a peer that accepts but never answers fails at boot after the deadline", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const error = await connectRedis({
        url: `redis://127.0.0.1:${silent.port}`,
        logger,
        name: "boot",
        connectTimeoutMs: 150,
      }).catch((e) => e);
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error.message).toContain("REDIS_URL");
    } finally {
      silent.stop(true);
    }
  });
});
