import type { Database } from "bun:sqlite";
import type { SessionStore } from "../../foundation/sessions/store.ts";
import { inBatches, PURGE_BATCH } from "../purge-batches.ts";
import { type SessionRow, toSession } from "../sql-rows/sessions.ts";

export function createSqliteSessionStore(db: Database): SessionStore {
  const insert = db.query(
    "INSERT INTO sessions (id, user_id, token_hash, csrf_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const byHash = db.query<SessionRow, [string]>("SELECT * FROM sessions WHERE token_hash = ?");
  const remove = db.query("DELETE FROM sessions WHERE id = ?");
  const removeExpired = db.query<never, [number, number]>(
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
  );
  return {
    async create(s) {
      insert.run(s.id, s.userId, s.tokenHash, s.csrfHash, s.createdAt, s.expiresAt);
    },
    async findByTokenHash(tokenHash) {
      const row = byHash.get(tokenHash);
      return row ? toSession(row) : null;
    },
    async delete(id) {
      remove.run(id);
    },
    async deleteExpired(now) {
      return inBatches(() => removeExpired.run(now, PURGE_BATCH).changes);
    },
  };
}
