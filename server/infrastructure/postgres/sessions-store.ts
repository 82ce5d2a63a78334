import type { SessionStore } from "../../foundation/sessions/store.ts";
import { type SessionRow, toSession } from "../sql-rows/sessions.ts";
import type { Sql } from "./connection.ts";
import { inBatches, PURGE_BATCH } from "./purge.ts";

export function createPostgresSessionStore(sql: Sql): SessionStore {
  return {
    async create(s) {
      await sql`INSERT INTO sessions (id, user_id, token_hash, csrf_hash, created_at, expires_at)
                VALUES (${s.id}, ${s.userId}, ${s.tokenHash}, ${s.csrfHash}, ${s.createdAt}, ${s.expiresAt})`;
    },
    async findByTokenHash(tokenHash) {
      const [row]: SessionRow[] = await sql`SELECT * FROM sessions WHERE token_hash = ${tokenHash}`;
      return row ? toSession(row) : null;
    },
    async delete(id) {
      await sql`DELETE FROM sessions WHERE id = ${id}`;
    },
    async deleteExpired(now) {
      return inBatches(async () => {
        const result = await sql`
          DELETE FROM sessions WHERE id = ANY(ARRAY(
            SELECT id FROM sessions WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${PURGE_BATCH}))`;
        return result.count;
      });
    },
  };
}
