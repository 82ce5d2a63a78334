/**
 * Agent Binding requests on PostgreSQL, behaving as the SQLite store does
 * (sqlite/bindings-store.ts).
 *
 * Both single-use steps (`complete`, `deny`) are one conditional `UPDATE …
 * WHERE status = 'PENDING' AND expires_at > now RETURNING`: a concurrent
 * decision from any connection waits for the winner's row lock, re-evaluates
 * the WHERE on the committed row and matches nothing, so exactly one wins.
 *
 * The sweeps (`expireDue`, `purgeFinished`) pick at most `limit` rows in a
 * CTE that locks them `FOR UPDATE` in a fixed order (expiry, then id), so two
 * sweeps never deadlock. One that waited re-checks each row once it is free,
 * drops those the other took (or a decision changed) and goes on to the next
 * rows, so it still returns up to `limit`; the outer statement repeats the
 * status test, and joins the picked ids on the primary key.
 *
 * Ids are compared and ordered with COLLATE "C" (byte order, as SQLite
 * compares text) whatever locale the database was created with.
 */

import type { BindingRecord, BindingStore } from "../../modules/bindings/store.ts";
import { type BindingRow, toBinding, toBindingPage } from "../sql-rows/bindings.ts";
import type { Sql } from "./connection.ts";

/** Oldest expiry first, ties by id in byte order: the order the sweep locked them in. */
function byExpiry(a: BindingRecord, b: BindingRecord): number {
  return a.expiresAt - b.expiresAt || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
}

export function createPostgresBindingStore(sql: Sql): BindingStore {
  return {
    async create(b) {
      await sql`
        INSERT INTO bindings (id, site_id, redirect_uri, status, created_at, expires_at, agent_id, owner_id,
          decided_at, revoked_at)
        VALUES (${b.id}, ${b.siteId}, ${b.redirectUri}, ${b.status}, ${b.createdAt}, ${b.expiresAt}, ${b.agentId},
          ${b.ownerId}, ${b.decidedAt}, ${b.revokedAt})`;
    },

    async findById(id) {
      const [row]: BindingRow[] = await sql`SELECT * FROM bindings WHERE id = ${id}`;
      return row ? toBinding(row) : null;
    },

    async complete({ id, agentId, ownerId, now }) {
      const [row]: BindingRow[] = await sql`
        UPDATE bindings SET status = 'COMPLETED', agent_id = ${agentId}, owner_id = ${ownerId}, decided_at = ${now}
        WHERE id = ${id} AND status = 'PENDING' AND expires_at > ${now}
        RETURNING *`;
      return row ? toBinding(row) : null;
    },

    async deny({ id, ownerId, now }) {
      const [row]: BindingRow[] = await sql`
        UPDATE bindings SET status = 'DENIED', owner_id = ${ownerId}, decided_at = ${now}
        WHERE id = ${id} AND status = 'PENDING' AND expires_at > ${now}
        RETURNING *`;
      return row ? toBinding(row) : null;
    },

    async expireDue(now, limit) {
      // The CTE walks the partial index bindings_pending_expiry; LIMIT bounds one sweep's work.
      const rows: BindingRow[] = await sql`
        WITH due AS (
          SELECT id FROM bindings WHERE status = 'PENDING' AND expires_at <= ${now}
          ORDER BY expires_at, id COLLATE "C" LIMIT ${limit} FOR UPDATE
        )
        UPDATE bindings b SET status = 'EXPIRED' FROM due
        WHERE b.id = due.id AND b.status = 'PENDING' AND b.expires_at <= ${now}
        RETURNING b.*`;
      return rows.map(toBinding).sort(byExpiry);
    },

    async revoke(id, ownerId, now) {
      const [row]: BindingRow[] = await sql`
        UPDATE bindings SET status = 'REVOKED', revoked_at = ${now}
        WHERE id = ${id} AND owner_id = ${ownerId} AND status = 'COMPLETED'
        RETURNING *`;
      return row ? toBinding(row) : null;
    },

    async listByOwner(ownerId, limit, before) {
      // One row more than asked says whether another page follows.
      const rows: BindingRow[] =
        before === null
          ? await sql`
              SELECT * FROM bindings WHERE owner_id = ${ownerId} AND status IN ('COMPLETED', 'REVOKED')
              ORDER BY decided_at DESC, id COLLATE "C" DESC LIMIT ${limit + 1}`
          : await sql`
              SELECT * FROM bindings WHERE owner_id = ${ownerId} AND status IN ('COMPLETED', 'REVOKED')
                AND (decided_at < ${before.decidedAt}
                     OR (decided_at = ${before.decidedAt} AND id COLLATE "C" < ${before.id}::text))
              ORDER BY decided_at DESC, id COLLATE "C" DESC LIMIT ${limit + 1}`;
      return toBindingPage(rows, limit);
    },

    async purgeFinished(expiredBefore, limit) {
      // DENIED and EXPIRED are final, so the outer test only guards against a concurrent purge.
      const result = await sql`
        WITH finished AS (
          SELECT id FROM bindings WHERE status IN ('DENIED', 'EXPIRED') AND expires_at < ${expiredBefore}
          ORDER BY expires_at, id COLLATE "C" LIMIT ${limit} FOR UPDATE
        )
        DELETE FROM bindings b USING finished WHERE b.id = finished.id AND b.status IN ('DENIED', 'EXPIRED')`;
      return result.count;
    },
  };
}
