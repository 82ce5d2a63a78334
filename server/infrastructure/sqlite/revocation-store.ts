import type { Database } from "bun:sqlite";
import type { RevocationStore } from "../../modules/revocation/store.ts";
import { inBatches, PURGE_BATCH } from "../purge-batches.ts";
import { type RevocationRow, toRevocation } from "../sql-rows/revocations.ts";

export function createSqliteRevocationStore(db: Database): RevocationStore {
  const upsert = db.query(
    `INSERT INTO passport_revocations (kind, subject_id, agent_id, revoked_at, expires_at)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (kind, subject_id) DO UPDATE SET
       revoked_at = MAX(revoked_at, excluded.revoked_at), expires_at = MAX(expires_at, excluded.expires_at)`,
  );
  const live = db.query<RevocationRow, [number]>(
    "SELECT * FROM passport_revocations WHERE expires_at > ? ORDER BY kind, subject_id",
  );
  const sitesOfAgent = db.query<{ id: string }, [string]>(
    `SELECT s.id FROM sites s
     WHERE s.id IN (SELECT site_id FROM agent_sites WHERE agent_id = ?1
                    UNION SELECT site_id FROM bindings WHERE agent_id = ?1 AND status IN ('COMPLETED', 'REVOKED'))
     ORDER BY s.id`,
  );
  // WITHOUT ROWID: the batch's rows are named by their primary key.
  const purge = db.query<never, [number, number]>(
    `DELETE FROM passport_revocations WHERE (kind, subject_id) IN
       (SELECT kind, subject_id FROM passport_revocations WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  );
  return {
    async record(r) {
      upsert.run(r.kind, r.subjectId, r.agentId ?? null, r.revokedAt, r.expiresAt);
    },
    async live(now) {
      return live.all(now).map(toRevocation);
    },
    async sitesOfAgent(agentId) {
      return sitesOfAgent.all(agentId).map((row) => row.id);
    },
    async purge(now) {
      await inBatches(() => purge.run(now, PURGE_BATCH).changes);
    },
  };
}
