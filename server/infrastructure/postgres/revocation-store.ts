import type { RevocationStore } from "../../modules/revocation/store.ts";
import { type RevocationRow, toRevocation } from "../sql-rows/revocations.ts";
import type { Sql } from "./connection.ts";
import { inBatches, PURGE_BATCH } from "./purge.ts";

/** The revocation list on PostgreSQL, behaving as the SQLite store does (sqlite/revocation-store.ts). */
export function createPostgresRevocationStore(sql: Sql): RevocationStore {
  return {
    async record(r) {
      await sql`
        INSERT INTO passport_revocations (kind, subject_id, agent_id, revoked_at, expires_at)
        VALUES (${r.kind}, ${r.subjectId}, ${r.agentId ?? null}, ${r.revokedAt}, ${r.expiresAt})
        ON CONFLICT (kind, subject_id) DO UPDATE SET
          revoked_at = GREATEST(passport_revocations.revoked_at, excluded.revoked_at),
          expires_at = GREATEST(passport_revocations.expires_at, excluded.expires_at)`;
    },
    // Byte order (COLLATE "C"), as SQLite compares text: the list's bytes, and so its ETag, do not
    // depend on the database's locale.
    async live(now) {
      const rows: RevocationRow[] = await sql`
        SELECT * FROM passport_revocations WHERE expires_at > ${now}
        ORDER BY kind COLLATE "C", subject_id COLLATE "C"`;
      return rows.map(toRevocation);
    },
    async sitesOfAgent(agentId) {
      const rows: Array<{ id: string }> = await sql`
        SELECT s.id FROM sites s
        WHERE s.id IN (SELECT site_id FROM agent_sites WHERE agent_id = ${agentId}
                       UNION SELECT site_id FROM bindings
                             WHERE agent_id = ${agentId} AND status IN ('COMPLETED', 'REVOKED'))
        ORDER BY s.id COLLATE "C"`;
      return rows.map((row) => row.id);
    },
    async purge(now) {
      await inBatches(async () => {
        const result = await sql`
          DELETE FROM passport_revocations WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM passport_revocations WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${PURGE_BATCH}))`;
        return result.count;
      });
    },
  };
}
