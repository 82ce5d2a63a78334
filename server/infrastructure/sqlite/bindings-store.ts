import type { Database } from "bun:sqlite";
import type { BindingStore } from "../../modules/bindings/store.ts";
import { type BindingRow, toBinding, toBindingPage } from "../sql-rows/bindings.ts";

export function createSqliteBindingStore(db: Database): BindingStore {
  const insert = db.query(
    `INSERT INTO bindings (id, site_id, redirect_uri, status, created_at, expires_at, agent_id, owner_id,
       decided_at, revoked_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byId = db.query<BindingRow, [string]>("SELECT * FROM bindings WHERE id = ?");
  // Both single-use steps are one conditional UPDATE: of concurrent decisions exactly one matches.
  const complete = db.query<BindingRow, [string, string, number, string, number]>(
    `UPDATE bindings SET status = 'COMPLETED', agent_id = ?1, owner_id = ?2, decided_at = ?3
     WHERE id = ?4 AND status = 'PENDING' AND expires_at > ?5
     RETURNING *`,
  );
  const deny = db.query<BindingRow, [string | null, number, string, number]>(
    `UPDATE bindings SET status = 'DENIED', owner_id = ?1, decided_at = ?2
     WHERE id = ?3 AND status = 'PENDING' AND expires_at > ?4
     RETURNING *`,
  );
  // The subquery walks the partial index bindings_pending_expiry; LIMIT bounds one sweep's work.
  const expire = db.query<BindingRow, [number, number]>(
    `UPDATE bindings SET status = 'EXPIRED'
     WHERE id IN (SELECT id FROM bindings WHERE status = 'PENDING' AND expires_at <= ?1
                  ORDER BY expires_at LIMIT ?2)
     RETURNING *`,
  );
  const revoke = db.query<BindingRow, [number, string, string]>(
    `UPDATE bindings SET status = 'REVOKED', revoked_at = ?1
     WHERE id = ?2 AND owner_id = ?3 AND status = 'COMPLETED'
     RETURNING *`,
  );
  const firstPage = db.query<BindingRow, [string, number]>(
    `SELECT * FROM bindings WHERE owner_id = ?1 AND status IN ('COMPLETED', 'REVOKED')
     ORDER BY decided_at DESC, id DESC LIMIT ?2`,
  );
  const pageBefore = db.query<BindingRow, [string, number, string, number]>(
    `SELECT * FROM bindings WHERE owner_id = ?1 AND status IN ('COMPLETED', 'REVOKED')
       AND (decided_at < ?2 OR (decided_at = ?2 AND id < ?3))
     ORDER BY decided_at DESC, id DESC LIMIT ?4`,
  );
  const purge = db.query<{ id: string }, [number, number]>(
    `DELETE FROM bindings
     WHERE id IN (SELECT id FROM bindings WHERE status IN ('DENIED', 'EXPIRED') AND expires_at < ?1
                  ORDER BY expires_at LIMIT ?2)
     RETURNING id`,
  );

  return {
    async create(b) {
      insert.run(
        b.id,
        b.siteId,
        b.redirectUri,
        b.status,
        b.createdAt,
        b.expiresAt,
        b.agentId,
        b.ownerId,
        b.decidedAt,
        b.revokedAt,
      );
    },
    async findById(id) {
      const row = byId.get(id);
      return row ? toBinding(row) : null;
    },
    async complete({ id, agentId, ownerId, now }) {
      const row = complete.get(agentId, ownerId, now, id, now);
      return row ? toBinding(row) : null;
    },
    async deny({ id, ownerId, now }) {
      const row = deny.get(ownerId, now, id, now);
      return row ? toBinding(row) : null;
    },
    async expireDue(now, limit) {
      return expire
        .all(now, limit)
        .map(toBinding)
        .sort((a, b) => a.expiresAt - b.expiresAt);
    },
    async revoke(id, ownerId, now) {
      const row = revoke.get(now, id, ownerId);
      return row ? toBinding(row) : null;
    },
    async listByOwner(ownerId, limit, before) {
      // One row more than asked says whether another page follows.
      const rows =
        before === null
          ? firstPage.all(ownerId, limit + 1)
          : pageBefore.all(ownerId, before.decidedAt, before.id, limit + 1);
      return toBindingPage(rows, limit);
    },
    async purgeFinished(expiredBefore, limit) {
      return purge.all(expiredBefore, limit).length;
    },
  };
}
