/**
 * What a fleet on PostgreSQL alone coordinates through the database: schema
 * migrations under an advisory lock, shared rate-limit counters, the outcome
 * fan-out over LISTEN/NOTIFY (and its catch-up after the database comes
 * back), the maintenance lease, and the connection's fault classification.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { createMemoryRateLimitStore } from "../../../server/infrastructure/memory/rate-limit-store.ts";
import {
  connectPostgres,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  type Sql,
} from "../../../server/infrastructure/postgres/connection.ts";
import { migratePostgres, openPostgres } from "../../../server/infrastructure/postgres/database.ts";
import { createPostgresLease } from "../../../server/infrastructure/postgres/lease.ts";
import { POSTGRES_MIGRATIONS } from "../../../server/infrastructure/postgres/migrations.ts";
import { createPostgresOutcomeFanout } from "../../../server/infrastructure/postgres/outcome-fanout.ts";
import { createPostgresRateLimitStore } from "../../../server/infrastructure/postgres/rate-limit-store.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores, type Stores } from "../../../server/infrastructure/sqlite/stores.ts";
import { FakeClock } from "../../../server/testing.ts";
import { approvedOutcome, capturingLogger, collect } from "../redis/support.ts";
import { outcomeFanoutConformance, rateLimitStoreConformance } from "../stores/conformance.ts";
import { type FreshSchema, freshSchema } from "../stores/postgres-fixture.ts";
import { describeWithPostgres } from "./postgres-server.ts";

describeWithPostgres("PostgreSQL coordination", (postgres) => {
  const schemas: FreshSchema[] = [];
  const extra: Sql[] = [];
  const closers: Array<() => Promise<void>> = [];
  const clock = new FakeClock();
  const logger = capturingLogger();
  // The fan-out reads events back from an agent-login store; SQLite's serves here (the store is not under test).
  let sqliteStores: Stores;
  let closeSqlite: () => void;

  const schema = async () => {
    const fresh = await freshSchema(postgres());
    schemas.push(fresh);
    return fresh;
  };
  const pool = (fresh: FreshSchema, max = 2) => {
    const sql = new Bun.SQL(postgres().url, { max, connection: { search_path: fresh.schema } });
    extra.push(sql);
    return sql;
  };

  beforeAll(() => {
    const db = openDatabase(":memory:");
    sqliteStores = createSqliteStores(db);
    closeSqlite = () => db.close();
  });

  afterAll(async () => {
    for (const close of closers) await close().catch(() => {});
    for (const sql of extra) await sql.close().catch(() => {});
    for (const fresh of schemas) await fresh.close().catch(() => {});
    closeSqlite();
  });

  test("migrations: three instances booting at once apply each version exactly once", async () => {
    const url = await postgres().createDatabase();
    const pools = await Promise.all([1, 2, 3].map(() => openPostgres({ url, max: 2 })));
    try {
      const rows: Array<{ version: number }> =
        await pools[0]!`SELECT version FROM schema_migrations ORDER BY version`;
      expect(rows.map((r) => Number(r.version))).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      const tables: Array<{ n: number }> = await pools[1]!`
        SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`;
      expect(tables[0]!.n).toBeGreaterThan(20);
    } finally {
      await Promise.all(pools.map((sql) => sql.close()));
    }
  });

  test("migrations: a version merged below a later one is still applied; a newer database is refused", async () => {
    const fresh = await schema();
    const later = { version: 1001, name: "later", sql: "CREATE TABLE probe_later (x INTEGER)" };
    const gap = { version: 1000, name: "merged late", sql: "CREATE TABLE probe_gap (x INTEGER)" };
    expect(await migratePostgres(fresh.sql, [...POSTGRES_MIGRATIONS, later])).toEqual([1001]);
    expect(await migratePostgres(fresh.sql, [...POSTGRES_MIGRATIONS, gap, later])).toEqual([1000]);
    expect(await migratePostgres(fresh.sql, [...POSTGRES_MIGRATIONS, gap, later])).toEqual([]);
    await fresh.sql`INSERT INTO probe_gap (x) VALUES (1)`;
    await expect(migratePostgres(fresh.sql, POSTGRES_MIGRATIONS)).rejects.toThrow(/newer than this server/);
  });

  test("migrations: a failing migration leaves nothing behind (DDL is transactional)", async () => {
    const fresh = await schema();
    const broken = {
      version: 1002,
      name: "broken",
      sql: "CREATE TABLE probe_half (x INTEGER); CREATE TABLE probe_half (x INTEGER);",
    };
    await expect(migratePostgres(fresh.sql, [...POSTGRES_MIGRATIONS, broken])).rejects.toThrow();
    const found: unknown[] = await fresh.sql`SELECT 1 FROM pg_tables WHERE tablename = 'probe_half'`;
    expect(found).toHaveLength(0);
    const versions: unknown[] = await fresh.sql`SELECT 1 FROM schema_migrations WHERE version = 1002`;
    expect(versions).toHaveLength(0);
  });

  rateLimitStoreConformance("postgres", async () => {
    const fresh = await schema();
    return createPostgresRateLimitStore(fresh.sql, { fallback: createMemoryRateLimitStore(), logger });
  });

  test("rate limits: two instances share one window; lapsed counters are purged in bounded batches", async () => {
    const fresh = await schema();
    const options = { fallback: createMemoryRateLimitStore(), logger };
    const a = createPostgresRateLimitStore(fresh.sql, options);
    const b = createPostgresRateLimitStore(pool(fresh), options);
    const now = clock.now();
    const hits = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).hit("shared", 60_000, now)),
    );
    expect(hits.map((h) => h.count).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const keys: Array<{ key_hash: string }> = await fresh.sql`SELECT key_hash FROM rate_limit_counters`;
    expect(keys.every((k) => !k.key_hash.includes("shared"))).toBe(true);
    for (let i = 0; i < 5; i++) await a.hit(`k${i}`, 1000, now);
    expect(await a.purge(now + 120_000, 3)).toBe(3);
    expect(await a.purge(now + 120_000, 100)).toBe(3);
    expect(await a.purge(now + 120_000, 100)).toBe(0);
  });

  test("rate limits: with the database away, hits are counted in process and the outage logged once", async () => {
    const log = capturingLogger();
    const unreachable = new Bun.SQL(
      postgres()
        .urlFor("postgres")
        .replace(/:\d+\//, ":1/"),
      {
        max: 1,
        connectionTimeout: 1,
      },
    );
    extra.push(unreachable);
    const store = createPostgresRateLimitStore(unreachable, {
      fallback: createMemoryRateLimitStore(),
      logger: log,
      retryAfterFailureMs: 0,
    });
    const now = clock.now();
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push((await store.hit("k", 60_000, now + i)).count);
    expect(counts).toEqual([1, 2, 3]);
    expect(log.entries.filter((e) => e.message.includes("per instance"))).toHaveLength(1);
  });

  const fanoutOn = async (
    fresh: FreshSchema,
    log = logger,
    channel = `c_${crypto.randomUUID().replaceAll("-", "")}`,
  ) => {
    const fanout = await createPostgresOutcomeFanout({
      sql: fresh.sql,
      listener: pool(fresh, 1),
      events: sqliteStores.agentLogin,
      clock,
      logger: log,
      channel,
    });
    closers.push(fanout.close);
    return fanout;
  };

  outcomeFanoutConformance("postgres (one instance)", async () => fanoutOn(await schema()));

  test("fan-out: an outcome published on B reaches a subscriber on A, read back whole from the store", async () => {
    const fresh = await schema();
    const channel = `c_${crypto.randomUUID().replaceAll("-", "")}`;
    const [a, b] = [await fanoutOn(fresh, logger, channel), await fanoutOn(fresh, logger, channel)];
    const event = await approvedOutcome(sqliteStores, clock);
    const seen = collect(a, event.siteId);
    b.publish(event);
    const received = await seen.next();
    expect(received.id).toBe(event.id);
    expect(received.passportJwt).toBe(event.passportJwt);
  });

  test("fan-out: the notification carries ids only, never the passport", async () => {
    const fresh = await schema();
    const channel = `c_${crypto.randomUUID().replaceAll("-", "")}`;
    const heard: string[] = [];
    const spy = pool(fresh, 1);
    await spy.listen(channel, (payload) => heard.push(payload));
    const fanout = await fanoutOn(fresh, logger, channel);
    const event = await approvedOutcome(sqliteStores, clock);
    fanout.publish(event);
    const deadline = Date.now() + 15_000;
    while (heard.length === 0 && Date.now() < deadline) await Bun.sleep(20);
    expect(heard).toHaveLength(1);
    expect(JSON.parse(heard[0]!)).toEqual({
      v: 1,
      origin: expect.any(String),
      site_id: event.siteId,
      event_id: event.id,
    });
    expect(heard[0]).not.toContain(event.passportJwt!);
  });

  test("fan-out: forged and malformed notifications deliver nothing but real outcomes of the site", async () => {
    const fresh = await schema();
    const log = capturingLogger();
    const channel = `c_${crypto.randomUUID().replaceAll("-", "")}`;
    const fanout = await fanoutOn(fresh, log, channel);
    const event = await approvedOutcome(sqliteStores, clock);
    const seen = collect(fanout, event.siteId);
    const forge = (payload: unknown) =>
      fresh.sql`SELECT pg_notify(${channel}, ${typeof payload === "string" ? payload : JSON.stringify(payload)})`;
    await forge("not json");
    await forge({ v: 1, origin: "forger", site_id: event.siteId, event_id: event.id + 1000 });
    await forge({ v: 1, origin: "forger", site_id: "x".repeat(65), event_id: event.id });
    await forge({ v: 2, origin: "forger", site_id: event.siteId, event_id: event.id });
    await forge({ v: 1, origin: "forger", site_id: event.siteId, event_id: event.id });
    // `next()` waits for an event after those already received; the real one may be in by now.
    const deadline = Date.now() + 15_000;
    while (seen.events.length === 0 && Date.now() < deadline) await Bun.sleep(20);
    expect(seen.events.map((e) => e.id)).toEqual([event.id]);
    await forge({ v: 1, origin: "forger", site_id: event.siteId, event_id: -1 });
    await Bun.sleep(300);
    expect(seen.events.map((e) => e.id)).toEqual([event.id]);
    expect(log.entries.filter((e) => e.message.includes("malformed"))).toHaveLength(1);
  });

  test("lease: one holder at a time; it renews its own; a lapsed or released lease passes on", async () => {
    const fresh = await schema();
    const a = createPostgresLease(fresh.sql, "maintenance");
    const b = createPostgresLease(pool(fresh), "maintenance");
    const now = clock.now();
    const first = await Promise.all([a.acquire(now, 5000), b.acquire(now, 5000)]);
    expect(first.filter(Boolean)).toHaveLength(1);
    const [holder, other] = first[0] ? [a, b] : [b, a];
    expect(await holder.acquire(now + 1000, 5000)).toBe(true);
    expect(await other.acquire(now + 5999, 5000)).toBe(false);
    expect(await other.acquire(now + 6000, 5000)).toBe(true);
    expect(await holder.acquire(now + 6001, 5000)).toBe(false);
    await other.release();
    expect(await holder.acquire(now + 6002, 5000)).toBe(true);
  });

  test("connection: an unreachable DATABASE_URL fails at boot naming it, without the password", async () => {
    const url = `postgres://lime:s3cret-password@127.0.0.1:1/lime`;
    const error = await connectPostgres({ url, bootTimeoutMs: 300, connectTimeoutMs: 200 }).catch((e) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toContain("DATABASE_URL");
    expect(error.message).not.toContain("s3cret-password");
  });

  test("connection: refused connections count as unavailable; constraint and syntax errors do not", async () => {
    const fresh = await schema();
    const bad = await fresh.sql`SELEC 1`.catch((e) => e);
    expect(isDatabaseUnavailable(bad)).toBe(false);
    await fresh.sql`CREATE TABLE probe_unique (x INTEGER PRIMARY KEY)`;
    await fresh.sql`INSERT INTO probe_unique VALUES (1)`;
    const duplicate = await fresh.sql`INSERT INTO probe_unique VALUES (1)`.catch((e) => e);
    expect(isDatabaseUnavailable(duplicate)).toBe(false);
    const unreachable = new Bun.SQL("postgres://postgres@127.0.0.1:1/postgres", {
      max: 1,
      connectionTimeout: 1,
    });
    extra.push(unreachable);
    const refused = await unreachable`SELECT 1`.catch((e) => e);
    expect(isDatabaseUnavailable(refused)).toBe(true);
  });

  test("fan-out: after the database restarts, the listener is back and replays what it may have missed", async () => {
    const fresh = await schema();
    const log = capturingLogger();
    const fanout = await fanoutOn(fresh, log);
    const event = await approvedOutcome(sqliteStores, clock);
    const seen = collect(fanout, event.siteId);
    // Approved while this instance could not hear: nobody publishes it, the relisten replay must find it.
    await postgres().kill();
    await postgres().start();
    const deadline = Date.now() + 30_000;
    while (seen.events.length === 0 && Date.now() < deadline) await Bun.sleep(50);
    expect(seen.events.map((e) => e.id)).toEqual([event.id]);
    expect(log.entries.some((e) => e.message.includes("listening for outcome notifications again"))).toBe(
      true,
    );
  }, 60_000);
});
