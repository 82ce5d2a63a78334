/**
 * Opens the durable storage the configuration names: PostgreSQL when
 * `DATABASE_URL` is set (and then no SQLite file is created anywhere), the
 * embedded SQLite file at `DATABASE_PATH` otherwise. What a fleet on
 * PostgreSQL alone needs to coordinate (outcome fan-out over LISTEN/NOTIFY,
 * shared rate-limit counters, the maintenance lease) comes with it; with
 * `REDIS_URL` as well, main.ts lets Redis take the fan-out and the counters
 * over, as before (docs/decisions/server-postgres.md).
 */

import type { Database } from "bun:sqlite";
import { type Clock, systemClock } from "../clock.ts";
import type { ServerConfig } from "../config.ts";
import { type FleetLease, soleInstanceLease } from "../fleet-lease.ts";
import type { RateLimitStore } from "../http/rate-limit-store.ts";
import type { OutcomeFanout } from "../modules/agent-login/store.ts";
import type { Logger } from "./logger.ts";
import { createMemoryRateLimitStore } from "./memory/rate-limit-store.ts";
import type { Sql } from "./postgres/connection.ts";
import { countPoolUse, type PoolUse } from "./postgres/pool-use.ts";
import { openDatabase } from "./sqlite/database.ts";
import { createSqliteStores, type Stores } from "./sqlite/stores.ts";

/** Fan-out and counters shared by the fleet through the database itself. */
export interface DatabaseSharedState {
  fanout: OutcomeFanout;
  rateLimitStore: RateLimitStore;
}

export interface OpenedStorage {
  kind: "sqlite" | "postgres";
  stores: Stores;
  /** The SQLite handle (`null` on PostgreSQL). */
  db: Database | null;
  /** The PostgreSQL pool (`null` on SQLite). */
  sql: Sql | null;
  /** Who runs the once-per-fleet maintenance. */
  lease: FleetLease;
  /** Throws when the database does not answer (readiness). */
  ping(): Promise<void>;
  /** Connections of the PostgreSQL pool in use (for `/metrics`); `null` on SQLite, which has none. */
  poolUse: (() => PoolUse) | null;
  /** Periodic work of the storage itself (purging lapsed counters), run by the lease holder. */
  maintain(now: number): Promise<void>;
  /**
   * Builds the fan-out and counters over the database (PostgreSQL only;
   * `null` on SQLite, whose instances share one host and use Redis or memory).
   */
  openSharedState(): Promise<DatabaseSharedState | null>;
  /** Closes the fan-out (if opened) and the database. Call after the server stopped. */
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  clock?: Clock;
  /** The PostgreSQL schema (`search_path`), for tests that give each server its own. */
  schema?: string;
}

export async function openStorage(
  config: ServerConfig,
  logger: Logger,
  options: OpenStorageOptions = {},
): Promise<OpenedStorage> {
  if (config.databaseUrl === null) {
    const db = openDatabase(config.databasePath);
    return {
      kind: "sqlite",
      stores: createSqliteStores(db),
      db,
      sql: null,
      lease: soleInstanceLease,
      async ping() {
        db.query("SELECT 1").get();
      },
      poolUse: null,
      async maintain() {},
      async openSharedState() {
        return null;
      },
      async close() {
        db.close();
      },
    };
  }

  // Loaded only when asked for: a SQLite deployment never loads the PostgreSQL code.
  const [
    { openPostgres },
    { createPostgresLease },
    { createPostgresOutcomeFanout },
    rateLimit,
    storesModule,
  ] = await Promise.all([
    import("./postgres/database.ts"),
    import("./postgres/lease.ts"),
    import("./postgres/outcome-fanout.ts"),
    import("./postgres/rate-limit-store.ts"),
    import("./postgres/stores.ts"),
  ]);
  const { createPostgresRateLimitStore } = rateLimit;
  const { createPostgresStores } = storesModule;
  const url = config.databaseUrl;
  const pool = await openPostgres({ url, max: config.databasePoolSize, schema: options.schema });
  const { sql, use: poolUse } = countPoolUse(pool, config.databasePoolSize);
  const rateLimits = createPostgresRateLimitStore(sql, { fallback: createMemoryRateLimitStore(), logger });
  const stores = createPostgresStores(sql);
  const lease = createPostgresLease(sql, "maintenance");
  let listener: Sql | null = null;
  let closeFanout: (() => Promise<void>) | null = null;
  return {
    kind: "postgres",
    stores,
    db: null,
    sql,
    lease,
    async ping() {
      await sql`SELECT 1`;
    },
    poolUse,
    async maintain(now) {
      await rateLimits.purge(now);
    },
    async openSharedState() {
      // LISTEN holds a connection of its own for as long as the instance lives.
      listener = new Bun.SQL(url, {
        max: 1,
        connectionTimeout: 5,
        ...(options.schema && { connection: { search_path: options.schema } }),
      });
      const fanout = await createPostgresOutcomeFanout({
        sql,
        listener,
        events: stores.agentLogin,
        clock: options.clock ?? systemClock,
        logger,
      });
      closeFanout = fanout.close;
      return { fanout, rateLimitStore: rateLimits };
    },
    async close() {
      await closeFanout?.();
      await lease.release().catch(() => {});
      await listener?.close().catch(() => {});
      await pool.close();
    },
  };
}

/** The stores alone, for commands that work on the data (`npm run kek:rotate`). */
export async function openConfiguredStores(
  config: ServerConfig,
  logger: Logger,
): Promise<{ stores: Stores; close(): Promise<void> }> {
  const storage = await openStorage(config, logger);
  return { stores: storage.stores, close: storage.close };
}
