import type { AgentRecord, AgentStatus } from "../../core/agents/store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** An `agents` row, as the SQLite and PostgreSQL stores read it. */
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
    // The column is REAL in SQLite (migration 1) and DOUBLE PRECISION in PostgreSQL; the score is an
    // integer 0–100 wherever it is read.
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
