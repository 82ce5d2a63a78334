import type { FleetLease } from "../../fleet-lease.ts";
import type { Sql } from "./connection.ts";

/**
 * A lease in the `leases` table: one instance of the fleet holds a name until
 * the lease expires, renewing it while it lives. Taking it is one upsert that
 * succeeds only when the row is free, lapsed, or already ours, so two
 * instances can never both hold it at one moment of the database's clock.
 * An instance killed while holding it loses it after `ttlMs`.
 *
 * Times come from the instance's clock, like every other time in the
 * schema; the ttl is several maintenance intervals, far above the skew NTP
 * leaves between hosts.
 */
export function createPostgresLease(sql: Sql, name: string, holder = crypto.randomUUID()): FleetLease {
  return {
    holder,
    async acquire(now, ttlMs) {
      const rows = await sql`
        INSERT INTO leases (name, holder, expires_at) VALUES (${name}, ${holder}, ${now + ttlMs})
        ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
          WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= ${now}
        RETURNING holder`;
      return rows.length === 1;
    },
    async release() {
      await sql`DELETE FROM leases WHERE name = ${name} AND holder = ${holder}`;
    },
  };
}
