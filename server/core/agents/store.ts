/** Agents: the identities passports are issued to. */

export type AgentStatus = "ACTIVE" | "REVOKED";

/** What an agent's reputation is computed from (server/core/agents/reputation.ts). */
export interface AgentHistory {
  successfulLogins: number;
  /** Sites the agent ever logged in to, deleted ones included. */
  distinctSites: number;
  /** Rejected approvals, fading: the count as it stood at `rejectionsCountedAt`. */
  recentRejections: number;
  rejectionsCountedAt: number;
  /** When `reputation` was last computed; null before the first time. */
  reputationComputedAt: number | null;
}

export const EMPTY_HISTORY: AgentHistory = {
  successfulLogins: 0,
  distinctSites: 0,
  recentRejections: 0,
  rejectionsCountedAt: 0,
  reputationComputedAt: null,
};

export interface AgentRecord {
  id: string;
  ownerId: string;
  displayName: string;
  description: string | null;
  avatarUrl: string | null;
  tokenHash: string;
  status: AgentStatus;
  /** Integer 0–100, as last computed; what passports carry. */
  reputation: number;
  history: AgentHistory;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
}

export interface AgentStore {
  create(agent: AgentRecord): Promise<void>;
  findById(id: string): Promise<AgentRecord | null>;
  findByTokenHash(tokenHash: string): Promise<AgentRecord | null>;
  listByOwner(ownerId: string): Promise<AgentRecord[]>;
  /** Replaces the token hash of an ACTIVE agent; the old token stops working in the same write. */
  rotateToken(id: string, ownerId: string, tokenHash: string, at: number): Promise<AgentRecord | null>;
  /** ACTIVE → REVOKED; null when the agent is unknown, not the owner's, or already revoked. */
  revoke(id: string, ownerId: string, at: number): Promise<AgentRecord | null>;
}
