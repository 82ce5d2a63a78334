import type { Database } from "bun:sqlite";
import type { SessionRecord, SessionStore } from "../../foundation/sessions/store.ts";

interface SessionRow {
  id: string;
  user_id: string;
  token_hash: string;
  csrf_hash: string;
  created_at: number;
  expires_at: number;
}

export function createSqliteSessionStore(db: Database): SessionStore {
  const insert = db.query(
    "INSERT INTO sessions (id, user_id, token_hash, csrf_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const byHash = db.query<SessionRow, [string]>("SELECT * FROM sessions WHERE token_hash = ?");
  const remove = db.query("DELETE FROM sessions WHERE id = ?");
  const removeExpired = db.query("DELETE FROM sessions WHERE expires_at <= ?");
  return {
    async create(s) {
      insert.run(s.id, s.userId, s.tokenHash, s.csrfHash, s.createdAt, s.expiresAt);
    },
    async findByTokenHash(tokenHash) {
      const row = byHash.get(tokenHash);
      if (!row) return null;
      return {
        id: row.id,
        userId: row.user_id,
        tokenHash: row.token_hash,
        csrfHash: row.csrf_hash,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      } satisfies SessionRecord;
    },
    async delete(id) {
      remove.run(id);
    },
    async deleteExpired(now) {
      return removeExpired.run(now).changes;
    },
  };
}
