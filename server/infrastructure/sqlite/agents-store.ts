import type { Database } from "bun:sqlite";
import type { AgentRecord, AgentStatus, AgentStore } from "../../core/agents/store.ts";
import { ownedTokenRowLookups } from "./owned-token-rows.ts";

export interface AgentRow {
  id: string;
  owner_id: string;
  display_name: string;
  description: string | null;
  avatar_url: string | null;
  token_hash: string;
  status: string;
  reputation: number;
  successful_logins: number;
  distinct_sites: number;
  recent_rejections: number;
  rejections_counted_at: number;
  reputation_computed_at: number | null;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
}

export function toAgent(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    displayName: row.display_name,
    description: row.description,
    avatarUrl: row.avatar_url,
    tokenHash: row.token_hash,
    status: row.status as AgentStatus,
    // The column is REAL (migration 1); the score is an integer 0–100 wherever it is read.
    reputation: Math.round(row.reputation),
    history: {
      successfulLogins: row.successful_logins,
      distinctSites: row.distinct_sites,
      recentRejections: row.recent_rejections,
      rejectionsCountedAt: row.rejections_counted_at,
      reputationComputedAt: row.reputation_computed_at,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revokedAt: row.revoked_at,
  };
}

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
