/**
 * An agent's public signing keys (docs/agent-keys.md). A key is never
 * deleted: revoking it sets `revokedAt`, and its thumbprint stays taken for
 * good, so no key can ever be registered a second time, by any agent
 * (docs/decisions/agent-keys.md).
 */

import type { AgentKeyAlgorithm, AgentPublicJwk } from "@lime-ts/core/http-signatures";

/** The directory signature the agent made with this key and uploaded (one RFC 9421 member each). */
export interface DirectorySignature {
  /** The `Signature-Input` member's value without its label: `("@authority";req);created=…;…`. */
  signatureInput: string;
  /** The `Signature` member's value without its label: `:base64:`. */
  signature: string;
  /** Its `expires` parameter, epoch ms: the directory leaves it out from then on. */
  expiresAt: number;
}

export interface AgentKeyRecord {
  /** The RFC 7638 SHA-256 thumbprint of `jwk`, base64url. */
  kid: string;
  agentId: string;
  ownerId: string;
  alg: AgentKeyAlgorithm;
  jwk: AgentPublicJwk;
  label: string | null;
  createdAt: number;
  revokedAt: number | null;
  directorySignature: DirectorySignature | null;
}

export type RegisterOutcome = "registered" | "exists" | "limit";

export interface AgentKeyStore {
  /**
   * Inserts the key, atomically refused as `exists` when its kid was ever
   * registered (by any agent) and as `limit` when its agent already has
   * `maxActive` keys not revoked. Concurrent registrations for one agent
   * never leave it with more than `maxActive`.
   */
  register(key: AgentKeyRecord, maxActive: number): Promise<RegisterOutcome>;
  findByKid(kid: string): Promise<AgentKeyRecord | null>;
  /** The agent's keys not revoked, oldest first (at most the limit of active keys). */
  listActive(agentId: string): Promise<AgentKeyRecord[]>;
  /** The agent's keys: the active ones first, then the revoked ones, newest first in each; at most `limit`. */
  listByAgent(agentId: string, limit: number): Promise<AgentKeyRecord[]>;
  /** Not revoked → revoked at `at`; null when the key is unknown, another agent's, or already revoked. */
  revoke(kid: string, agentId: string, at: number): Promise<AgentKeyRecord | null>;
  /** Replaces the directory signature of an active key of the agent; false when there is none. */
  setDirectorySignature(kid: string, agentId: string, signature: DirectorySignature): Promise<boolean>;
}
