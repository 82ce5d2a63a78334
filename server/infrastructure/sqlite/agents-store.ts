import type { Database } from "bun:sqlite";
import type { AgentStore } from "../../core/agents/store.ts";
import { type AgentRow, toAgent } from "../sql-rows/agents.ts";
import { ownedTokenRowLookups } from "./owned-token-rows.ts";

export function createSqliteAgentStore(db: Database): AgentStore {
  const insert = db.query(
    `INSERT INTO agents (id, owner_id, display_name, description, avatar_url, token_hash, status, reputation,
       created_at, updated_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const rotate = db.query<AgentRow, [string, number, string, string]>(
    `UPDATE agents SET token_hash = ?, updated_at = ? WHERE id = ? AND owner_id = ? AND status = 'ACTIVE'
     RETURNING *`,
  );
  const revoke = db.query<AgentRow, [number, number, string, string]>(
    `UPDATE agents SET status = 'REVOKED', revoked_at = ?, updated_at = ?
     WHERE id = ? AND owner_id = ? AND status = 'ACTIVE' RETURNING *`,
  );
  return {
    ...ownedTokenRowLookups(db, "agents", toAgent),
    async create(a) {
      insert.run(
        a.id,
        a.ownerId,
        a.displayName,
        a.description,
        a.avatarUrl,
        a.tokenHash,
        a.status,
        a.reputation,
        a.createdAt,
        a.updatedAt,
        a.revokedAt,
      );
    },
    async rotateToken(id, ownerId, tokenHash, at) {
      const row = rotate.get(tokenHash, at, id, ownerId);
      return row ? toAgent(row) : null;
    },
    async revoke(id, ownerId, at) {
      const row = revoke.get(at, at, id, ownerId);
      return row ? toAgent(row) : null;
    },
  };
}
