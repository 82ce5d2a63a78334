/** Agents: the identities passports are issued to. */

export type AgentStatus = "ACTIVE" | "REVOKED";

export interface AgentRecord {
  id: string;
  ownerId: string;
  displayName: string;
  description: string | null;
  avatarUrl: string | null;
  tokenHash: string;
  status: AgentStatus;
  reputation: number;
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
