/**
 * Every periodic job and every hot statement reads the growing tables
 * through an index, and every purge works in bounded batches
 * (docs/decisions/purge-and-indexes.md). No timing here: the plans and the
 * row counts per statement are facts the database states.
 *
 * SQLite: every statement the stores prepare is captured as they prepare it
 * (not a copy kept here), and `EXPLAIN QUERY PLAN` must never show `SCAN` of
 * a table that grows with use, after the tables were filled and ANALYZEd, so
 * the planner chooses as it would on a server with history.
 *
 * PostgreSQL: the real store calls run on one connection over 20,000 rows of
 * history (ANALYZEd), and the server's own counter of sequential scans per
 * table (`pg_stat_user_tables.seq_scan`) must not move for the growing tables.
 */

import type { Database, Statement } from "bun:sqlite";
import { expect, test } from "bun:test";
import { silentLogger } from "../../../server/infrastructure/logger.ts";
import { createMemoryRateLimitStore } from "../../../server/infrastructure/memory/rate-limit-store.ts";
import type { Sql } from "../../../server/infrastructure/postgres/connection.ts";
import { createPostgresRateLimitStore } from "../../../server/infrastructure/postgres/rate-limit-store.ts";
import { createPostgresStores } from "../../../server/infrastructure/postgres/stores.ts";
import { PURGE_BATCH, PURGE_BATCHES_PER_TICK } from "../../../server/infrastructure/purge-batches.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores } from "../../../server/infrastructure/sqlite/stores.ts";
import { describeWithPostgres } from "../postgres/postgres-server.ts";
import { loginRequest, site, user } from "./conformance.ts";
import { freshSchema, insertSite } from "./postgres-fixture.ts";

const T0 = 1_800_000_000_000;
const MINUTE = 60_000;

/** Tables whose rows accumulate with use (logins, owners, tokens): none may be scanned. */
const GROWING = [
  "users",
  "email_codes",
  "sessions",
  "kyc_submissions",
  "sites",
  "agents",
  "agent_sites",
  "login_requests",
  "login_outcomes",
  "audit_events",
  "oauth_clients",
  "oauth_resources",
  "oauth_authorization_requests",
  "oauth_grants",
  "oauth_codes",
  "oauth_refresh_tokens",
  "oauth_access_tokens",
  "oauth_assertion_ids",
  "password_reset_tokens",
  "bindings",
  "agent_keys",
];

/**
 * Scans allowed, each for a reason:
 * - the revocation list's read returns every live entry, and the purge keeps only live ones:
 *   its output is the table (served from a cache in between, server/modules/revocation/list.ts);
 * - the KYC review queue walks the partial index of PENDING submissions only.
 * `signing_keys` (a handful of rows: NEXT, CURRENT, a few RETIRED) is not in GROWING.
 */
const ALLOWED_SCANS = [
  "SCAN passport_revocations",
  "SCAN kyc_submissions USING INDEX kyc_one_pending_per_user",
];

/** The statements of the login flow and the periodic jobs, and the index each must name in its plan. */
const EXPECTED_INDEXES: Array<[what: string, sqlPart: RegExp, indexes: string[]]> = [
  ["purge: lapsed outcome events", /DELETE FROM login_outcomes WHERE id IN/, ["login_outcomes_expires_at"]],
  [
    "purge: lapsed passports",
    /passport_jwt IS NOT NULL AND passport_expires_at <=/,
    ["login_requests_passport_expiry"],
  ],
  [
    "purge: old requests with no event left",
    /DELETE FROM login_requests WHERE id IN/,
    ["login_requests_created_at", "login_outcomes_request"],
  ],
  ["expiry sweep", /SET status = 'EXPIRED' WHERE id IN/, ["login_requests_pending_expiry"]],
  [
    "stream: undelivered events",
    /o\.delivered_at IS NULL AND o\.expires_at >/,
    ["login_outcomes_undelivered"],
  ],
  // With many sites the site's range of login_outcomes_site; the range of ids after Last-Event-ID is a
  // SEARCH as well (both are checked: no SCAN), which the planner may prefer when the id is recent.
  ["stream: events after Last-Event-ID", /o\.id > \? AND o\.expires_at >/, []],
  ["revocation purge", /DELETE FROM passport_revocations WHERE/, ["passport_revocations_expiry"]],
  ["session purge", /DELETE FROM sessions WHERE id IN/, ["sessions_expires_at"]],
  ["password reset purge", /DELETE FROM password_reset_tokens WHERE id IN/, ["password_reset_tokens_expiry"]],
  [
    "binding expiry sweep",
    /SET status = 'EXPIRED'\s+WHERE id IN \(SELECT id FROM bindings/,
    ["bindings_pending_expiry"],
  ],
  ["reputation sweep", /reputation_due_at <= \?/, ["agents_reputation_due"]],
  ["site by token", /FROM sites WHERE token_hash = \?/, ["sqlite_autoindex_sites_2"]],
  ["agent by token", /FROM agents WHERE token_hash = \?/, ["sqlite_autoindex_agents_2"]],
];

/** A SQLite handle that records every statement prepared through it, and the rows each run changed. */
function recording(db: Database) {
  const prepared: string[] = [];
  const changes = new Map<string, number[]>();
  const wrap = (text: string, statement: Statement) =>
    new Proxy(statement, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== "run") return typeof value === "function" ? value.bind(target) : value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => { changes: number }).apply(target, args);
          changes.set(text, [...(changes.get(text) ?? []), result.changes]);
          return result;
        };
      },
    });
  const handle = new Proxy(db, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === "query" || property === "prepare")
        return (text: string) => {
          prepared.push(text);
          return wrap(text, (value as (sql: string) => Statement).call(target, text));
        };
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { handle, prepared, changes };
}

/** Fills the login tables with `count` requests of history (direct inserts: the plans, not the flow, are under test). */
function seedSqlite(db: Database, count: number, now: number, sites = 20): void {
  const siteIds: string[] = [];
  for (let i = 0; i < sites; i++) {
    const owner = user();
    const record = site(owner.id);
    db.query(
      "INSERT INTO users (id, email, password_hash, kyc_level, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)",
    ).run(owner.id, owner.email, owner.passwordHash, owner.createdAt, owner.updatedAt);
    db.query(
      `INSERT INTO sites (id, owner_id, display_name, origin, token_hash, pow_difficulty, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(record.id, owner.id, record.displayName, record.origin, record.tokenHash, 8, "ACTIVE", T0, T0);
    siteIds.push(record.id);
  }
  const request = db.query(
    `INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, created_at, expires_at,
       approved_agent_id, approved_at, passport_jwt, passport_expires_at, delivered_at)
     VALUES (?, ?, 'DELIVERED', 'ab', 8, ?, ?, 'agent', ?, ?, ?, ?)`,
  );
  const outcome = db.query(
    `INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at, delivered_at)
     VALUES (?, ?, 'approved', ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const at = now - 60 * MINUTE + i;
      const id = `r${String(i).padStart(8, "0")}`;
      // Only the newest keep their passport and event: the purge has cleared the others.
      const live = i >= count - 200;
      const siteId = siteIds[i % sites]!;
      request.run(id, siteId, at, at + 5 * MINUTE, at, live ? "jwt" : null, at + 2 * MINUTE, at);
      if (live) outcome.run(siteId, id, at, at + 2 * MINUTE, at);
    }
  })();
  db.exec("ANALYZE");
}

function plan(db: Database, text: string): string[] {
  return db
    .query<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${text}`)
    .all()
    .map((row) => row.detail);
}

function scansOfGrowingTables(details: string[]): string[] {
  return details.filter(
    (detail) =>
      GROWING.some((table) => new RegExp(`^SCAN ${table}\\b`).test(detail)) &&
      !ALLOWED_SCANS.some((allowed) => detail.startsWith(allowed)),
  );
}

// Without statistics SQLite takes every table for a large one, which is what a growing table becomes;
// statistics from a test's few rows would make it scan tables it is right to scan while they are tiny.
test("SQLite: no statement the stores prepare scans a growing table", () => {
  const db = openDatabase(":memory:");
  const { handle, prepared } = recording(db);
  createSqliteStores(handle);
  expect(prepared.length).toBeGreaterThan(100);
  const scanning = prepared
    .map((text) => ({ text: text.replace(/\s+/g, " "), scans: scansOfGrowingTables(plan(db, text)) }))
    .filter((s) => s.scans.length > 0);
  expect(scanning).toEqual([]);
});

test("SQLite: the check can fail (a filter on an unindexed column scans)", () => {
  const db = openDatabase(":memory:");
  seedSqlite(db, 100, T0);
  // The purge's old statement, before login_requests_passport_expiry.
  expect(
    scansOfGrowingTables(
      plan(
        db,
        "UPDATE login_requests SET passport_jwt = NULL WHERE passport_jwt IS NOT NULL AND delivered_at <= 1",
      ),
    ),
  ).toEqual(["SCAN login_requests"]);
});

test("SQLite: each periodic and hot statement of the login flow uses its index", () => {
  const db = openDatabase(":memory:");
  const { handle, prepared } = recording(db);
  createSqliteStores(handle);
  seedSqlite(db, 5000, T0);
  for (const [what, sqlPart, indexes] of EXPECTED_INDEXES) {
    const matching = prepared.filter((text) => sqlPart.test(text));
    expect({ what, found: matching.length > 0 }).toEqual({ what, found: true });
    for (const text of matching) {
      const steps = plan(db, text);
      const details = steps.join(" | ");
      expect({ what, details, scans: scansOfGrowingTables(steps) }).toMatchObject({ scans: [] });
      for (const index of indexes)
        expect({ what, details, uses: details.includes(index) }).toMatchObject({ uses: true });
    }
  }
});

test("SQLite: a purge backlog larger than one tick's batches goes over ticks, never more than a batch per statement", async () => {
  const db = openDatabase(":memory:");
  const { handle, changes } = recording(db);
  const stores = createSqliteStores(handle);
  const perTick = PURGE_BATCH * PURGE_BATCHES_PER_TICK;
  const count = perTick + PURGE_BATCH / 2;
  seedSqlite(db, count, T0);
  const now = T0 + 10 * MINUTE;
  // Every request is older than the cut-off; the 200 newest still hold a lapsed passport and event.
  const before = () => db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM login_requests").get()!.n;
  expect(before()).toBe(count);

  await stores.agentLogin.purge(now, now);
  expect(before()).toBe(count - perTick);
  await stores.agentLogin.purge(now, now);
  expect(before()).toBe(0);
  expect(db.query("SELECT COUNT(*) AS n FROM login_outcomes").get()).toEqual({ n: 0 });

  const deletes = [...changes].filter(([text]) => /DELETE FROM login_requests WHERE id IN/.test(text));
  expect(deletes).toHaveLength(1);
  const perStatement = deletes[0]![1];
  expect(Math.max(...perStatement)).toBe(PURGE_BATCH);
  expect(perStatement.reduce((a, b) => a + b, 0)).toBe(count);
  // The first tick stopped after its batches; the second finished with a short one.
  expect(perStatement.length).toBe(PURGE_BATCHES_PER_TICK + 1);
});

test("SQLite: the expiry sweep expires a backlog in batches, oldest expiry first, with one event each", async () => {
  const db = openDatabase(":memory:");
  const stores = createSqliteStores(db);
  const owner = user();
  await stores.users.create(owner);
  const record = site(owner.id);
  await stores.sites.create(record);
  const count = PURGE_BATCH + 250;
  // Created in an order unlike their expiry order.
  const requests = Array.from({ length: count }, (_, i) =>
    loginRequest(record.id, { expiresAt: T0 + ((i * 7919) % count) }),
  );
  for (const r of requests) await stores.agentLogin.create(r);
  const events = await stores.agentLogin.expireDue(T0 + count, T0 + count + MINUTE);
  expect(events).toHaveLength(count);
  const expiresOf = new Map(requests.map((r) => [r.id, r.expiresAt]));
  const order = events.map((e) => expiresOf.get(e.loginRequestId!)!);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
  expect(await stores.agentLogin.expireDue(T0 + count, T0 + count + MINUTE)).toEqual([]);
});

/** Sequential scans of each table so far, as the server counts them (this connection's flushed first). */
async function seqScans(sql: Sql): Promise<Map<string, number>> {
  await sql`SELECT pg_stat_force_next_flush()`;
  await sql`SELECT pg_stat_clear_snapshot()`;
  const rows: Array<{ relname: string; seq_scan: string }> = await sql`
    SELECT relname, seq_scan FROM pg_stat_user_tables WHERE schemaname = current_schema()`;
  return new Map(rows.map((row) => [row.relname, Number(row.seq_scan)]));
}

describeWithPostgres("PostgreSQL query plans", (postgres) => {
  const ROWS = 20_000;

  /** 20,000 requests of history with their events, then ANALYZE; returns the site and an agent. */
  async function seedPostgres(sql: Sql, now: number) {
    const siteId = await insertSite(sql);
    const owners: Array<{ owner_id: string }> = await sql`SELECT owner_id FROM sites WHERE id = ${siteId}`;
    const ownerId = owners[0]!.owner_id;
    const agentId = crypto.randomUUID();
    await sql`INSERT INTO agents (id, owner_id, display_name, token_hash, status, created_at, updated_at)
              VALUES (${agentId}, ${ownerId}, 'agent', ${crypto.randomUUID()}, 'ACTIVE', ${T0}, ${T0})`;
    const start = now - 60 * MINUTE;
    await sql`
      INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, created_at, expires_at,
        approved_agent_id, approved_at, passport_jwt, passport_expires_at, delivered_at)
      SELECT 'r' || lpad(i::text, 8, '0'), ${siteId}, 'DELIVERED', 'ab', 8, ${start}::bigint + i,
        ${start}::bigint + i + 300000, ${agentId}, ${start}::bigint + i,
        CASE WHEN i >= ${ROWS - 200} THEN 'jwt' END, ${start}::bigint + i + 120000, ${start}::bigint + i
      FROM generate_series(0, ${ROWS - 1}) AS i`;
    await sql`
      INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at, delivered_at)
      SELECT site_id, id, 'approved', created_at, created_at + 120000, created_at FROM login_requests`;
    await sql`
      INSERT INTO rate_limit_counters (key_hash, window_start, hits, expires_at)
      SELECT 'k' || i, ${now}::bigint - 60000, 1, ${now}::bigint + i FROM generate_series(0, ${ROWS - 1}) AS i`;
    await sql`ANALYZE`;
    return { siteId, agentId };
  }

  test("the login flow's statements and the periodic jobs never scan login_requests, login_outcomes or the counters", async () => {
    const schema = await freshSchema(postgres(), 1);
    try {
      const sql = schema.sql;
      const now = T0 + 10 * MINUTE;
      const { siteId, agentId } = await seedPostgres(sql, now);
      const stores = createPostgresStores(sql);
      const rateLimits = createPostgresRateLimitStore(sql, {
        fallback: createMemoryRateLimitStore(),
        logger: silentLogger,
      });
      const watched = ["login_requests", "login_outcomes", "rate_limit_counters"];
      const request = loginRequest(siteId, { createdAt: now, expiresAt: now + 5 * MINUTE });
      const due = loginRequest(siteId, { createdAt: now - 6 * MINUTE, expiresAt: now - MINUTE });
      const steps: Array<[string, () => Promise<unknown>]> = [
        ["create", () => stores.agentLogin.create(request)],
        ["findById", () => stores.agentLogin.findById(request.id)],
        ["showChallenge", () => stores.agentLogin.showChallenge(request.id, 8, now)],
        [
          "approve",
          () =>
            stores.agentLogin.approve({
              id: request.id,
              agentId,
              passportJwt: "jwt",
              passportExpiresAt: now + 2 * MINUTE,
              now,
            }),
        ],
        ["undeliveredEvents", () => stores.agentLogin.undeliveredEvents(siteId, now)],
        ["eventsAfter", () => stores.agentLogin.eventsAfter(siteId, 19_990, now)],
        ["markDelivered", async () => stores.agentLogin.markDelivered(19_995, now)],
        ["recentForSite", () => stores.agentLogin.recentForSite(siteId, 20)],
        ["recentForAgent", () => stores.agentLogin.recentForAgent(agentId, 20)],
        ["create (to expire)", () => stores.agentLogin.create(due)],
        ["expireDue", () => stores.agentLogin.expireDue(now, now + 60 * MINUTE)],
        ["purge", () => stores.agentLogin.purge(now, now - 30 * MINUTE)],
        ["rate limit hit", () => rateLimits.hit("login:1.2.3.4", 60_000, now)],
        ["rate limit purge", () => rateLimits.purge(now + 500)],
      ];
      const scanned: Array<{ step: string; table: string; scans: number }> = [];
      for (const [step, run] of steps) {
        const before = await seqScans(sql);
        await run();
        const after = await seqScans(sql);
        for (const table of watched) {
          const scans = (after.get(table) ?? 0) - (before.get(table) ?? 0);
          if (scans !== 0) scanned.push({ step, table, scans });
        }
      }
      expect(scanned).toEqual([]);
      // The purge did its work: lapsed events and the requests older than the cut-off with none left.
      const old: Array<{ n: number }> =
        await sql`SELECT count(*)::int AS n FROM login_requests WHERE created_at < ${now - 30 * MINUTE}`;
      expect(old[0]!.n).toBe(0);

      // The counter moves for a scan, so the check above can fail.
      const before = await seqScans(sql);
      await sql`SELECT count(*) FROM login_requests WHERE redirect_url IS NULL`;
      const after = await seqScans(sql);
      expect(after.get("login_requests")! - before.get("login_requests")!).toBe(1);
    } finally {
      await schema.close();
    }
  }, 120_000);

  test("a purge backlog larger than one tick's batches goes over ticks", async () => {
    const schema = await freshSchema(postgres(), 2);
    try {
      const sql = schema.sql;
      const now = T0 + 10 * MINUTE;
      await seedPostgres(sql, now);
      const stores = createPostgresStores(sql);
      const count = async () =>
        ((await sql`SELECT count(*)::int AS n FROM login_requests`) as Array<{ n: number }>)[0]!.n;
      // 20,000 requests, all past the cut-off: one tick's batches take exactly that many.
      const perTick = PURGE_BATCH * PURGE_BATCHES_PER_TICK;
      const extra = 1500;
      const siteId = ((await sql`SELECT id FROM sites LIMIT 1`) as Array<{ id: string }>)[0]!.id;
      await sql`
        INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, created_at, expires_at)
        SELECT 'x' || i, ${siteId}, 'EXPIRED', 'ab', 8, ${T0}::bigint, ${T0}::bigint FROM generate_series(1, ${extra}) AS i`;
      const total = ROWS + extra;
      expect(await count()).toBe(total);
      await stores.agentLogin.purge(now, now);
      expect(await count()).toBe(total - perTick);
      await stores.agentLogin.purge(now, now);
      expect(await count()).toBe(0);
    } finally {
      await schema.close();
    }
  }, 120_000);
});
