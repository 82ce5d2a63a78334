import type { SessionRecord, SessionStore } from "../../foundation/sessions/store.ts";
import type { Sql } from "./connection.ts";
import { type BigintColumn, millis } from "./millis.ts";

interface SessionRow {
  id: string;
  user_id: string;
  token_hash: string;
  csrf_hash: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
}

export function createPostgresSessionStore(sql: Sql): SessionStore {
  return {
    async create(s) {
      await sql`INSERT INTO sessions (id, user_id, token_hash, csrf_hash, created_at, expires_at)
                VALUES (${s.id}, ${s.userId}, ${s.tokenHash}, ${s.csrfHash}, ${s.createdAt}, ${s.expiresAt})`;
    },
    async findByTokenHash(tokenHash) {
      const [row]: SessionRow[] = await sql`SELECT * FROM sessions WHERE token_hash = ${tokenHash}`;
      if (!row) return null;
      return {
        id: row.id,
        userId: row.user_id,
        tokenHash: row.token_hash,
        csrfHash: row.csrf_hash,
        createdAt: millis(row.created_at),
        expiresAt: millis(row.expires_at),
      } satisfies SessionRecord;
    },
    async delete(id) {
      await sql`DELETE FROM sessions WHERE id = ${id}`;
    },
    async deleteExpired(now) {
      return (await sql`DELETE FROM sessions WHERE expires_at <= ${now}`).count;
    },
  };
}
