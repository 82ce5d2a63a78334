import type { AgentRecord, AgentStatus, AgentStore } from "../../core/agents/store.ts";
import type { Sql } from "./connection.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";
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
  rejections_counted_at: BigintColumn;
  reputation_computed_at: BigintColumn | null;
  created_at: BigintColumn;
  updated_at: BigintColumn;
  revoked_at: BigintColumn | null;
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
    // The column is DOUBLE PRECISION (as SQLite's REAL); the score is an integer 0–100 wherever it is read.
    reputation: Math.round(row.reputation),
    history: {
      successfulLogins: row.successful_logins,
      distinctSites: row.distinct_sites,
      recentRejections: row.recent_rejections,
      rejectionsCountedAt: millis(row.rejections_counted_at),
      reputationComputedAt: millisOrNull(row.reputation_computed_at),
    },
    createdAt: millis(row.created_at),
    updatedAt: millis(row.updated_at),
    revokedAt: millisOrNull(row.revoked_at),
  };
}

export function createPostgresAgentStore(sql: Sql): AgentStore {
  const one = (rows: AgentRow[]) => (rows[0] ? toAgent(rows[0]) : null);
  return {
    ...ownedTokenRowLookups(sql, "agents", toAgent),
    async create(a) {
      // The history counters start at their column defaults, as in SQLite.
      await sql`
        INSERT INTO agents (id, owner_id, display_name, description, avatar_url, token_hash, status, reputation,
          created_at, updated_at, revoked_at)
        VALUES (${a.id}, ${a.ownerId}, ${a.displayName}, ${a.description}, ${a.avatarUrl}, ${a.tokenHash},
                ${a.status}, ${a.reputation}, ${a.createdAt}, ${a.updatedAt}, ${a.revokedAt})`;
    },
    async rotateToken(id, ownerId, tokenHash, at) {
      return one(
        await sql`UPDATE agents SET token_hash = ${tokenHash}, updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} AND status = 'ACTIVE' RETURNING *`,
      );
    },
    async revoke(id, ownerId, at) {
      return one(
        await sql`UPDATE agents SET status = 'REVOKED', revoked_at = ${at}, updated_at = ${at}
                  WHERE id = ${id} AND owner_id = ${ownerId} AND status = 'ACTIVE' RETURNING *`,
      );
    },
  };
}
