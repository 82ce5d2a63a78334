/**
 * Agents: registration by their owner, token rotation, revocation, and the
 * `X-Agent-Token` check every agent-facing route runs first. A revoked
 * agent's token fails at once (AGENT_REVOKED): the check reads the agent row
 * on every request, nothing is cached.
 */

import { type Clock, isoTime } from "../../clock.ts";
import { DomainError } from "../../errors.ts";
import { type AuditRecorder, ownerAction } from "../../foundation/audit/service.ts";
import type { UserRecord, UserStore } from "../../foundation/users/store.ts";
import { findByToken, generateToken, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import type { RevocationHooks } from "../../modules/revocation/service.ts";
import { presentReputation } from "./reputation.ts";
import { type AgentRecord, type AgentStore, EMPTY_HISTORY } from "./store.ts";

export interface AgentDeps {
  clock: Clock;
  agents: AgentStore;
  users: UserStore;
  audit: AuditRecorder;
  /** Tells sites of revocations and rotations (server/modules/revocation); absent where nobody listens. */
  revocations?: Pick<RevocationHooks, "agentRevoked" | "agentTokenRotated">;
}

function cleanText(raw: string | null | undefined, field: string): string | null {
  if (raw === null || raw === undefined) return null;
  const text = raw.trim();
  if (field === "display_name" && text === "") {
    throw new DomainError("VALIDATION_FAILED", "The display name must not be blank.", { field });
  }
  return text === "" ? null : text;
}

function avatarUrl(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined || raw.trim() === "") return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new DomainError("VALIDATION_FAILED", "avatar_url must be an absolute https URL.", {
      field: "avatar_url",
    });
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "") {
    throw new DomainError("VALIDATION_FAILED", "avatar_url must be an absolute https URL.", {
      field: "avatar_url",
    });
  }
  return url.href;
}

export async function registerAgent(
  deps: AgentDeps,
  owner: UserRecord,
  input: { displayName: string; description?: string | null; avatarUrl?: string | null },
  ip: string,
): Promise<{ agent: AgentRecord; token: string }> {
  const now = deps.clock.now();
  const token = generateToken("agent");
  const agent: AgentRecord = {
    id: crypto.randomUUID(),
    ownerId: owner.id,
    displayName: cleanText(input.displayName, "display_name")!,
    description: cleanText(input.description, "description"),
    avatarUrl: avatarUrl(input.avatarUrl),
    tokenHash: hashSecret(token),
    status: "ACTIVE",
    reputation: 0,
    history: EMPTY_HISTORY,
    createdAt: now,
    updatedAt: now,
    revokedAt: null,
  };
  await deps.agents.create(agent);
  await deps.audit(ownerAction(owner.id, "agent.created", { type: "agent", id: agent.id }, ip));
  return { agent, token };
}

const notFound = () => new DomainError("AGENT_NOT_FOUND", "No such active agent.");

export async function rotateAgentToken(
  deps: AgentDeps,
  owner: UserRecord,
  agentId: string,
  ip: string,
): Promise<{ agent: AgentRecord; token: string }> {
  const token = generateToken("agent");
  const now = deps.clock.now();
  const agent = await deps.agents.rotateToken(agentId, owner.id, hashSecret(token), now);
  if (!agent) throw notFound();
  // After the rotation: should this fail, rotating again records it.
  await deps.revocations?.agentTokenRotated(agent.id, now);
  await deps.audit(ownerAction(owner.id, "agent.token_rotated", { type: "agent", id: agent.id }, ip));
  return { agent, token };
}

export async function revokeAgent(
  deps: AgentDeps,
  owner: UserRecord,
  agentId: string,
  ip: string,
): Promise<void> {
  const now = deps.clock.now();
  if (deps.revocations) {
    // Recorded before the agent row changes: once revoked, a retry would be AGENT_NOT_FOUND and the
    // revocation would never reach the list. Only this owner's active agent gets an entry.
    const existing = await deps.agents.findById(agentId);
    if (existing?.ownerId !== owner.id || existing.status !== "ACTIVE") throw notFound();
    await deps.revocations.agentRevoked(existing.id, now);
  }
  const agent = await deps.agents.revoke(agentId, owner.id, now);
  if (!agent) throw notFound();
  await deps.audit(ownerAction(owner.id, "agent.revoked", { type: "agent", id: agent.id }, ip));
}

export interface AuthenticatedAgent {
  agent: AgentRecord;
  owner: UserRecord;
}

/** The `X-Agent-Token` check: MISSING_AGENT_TOKEN, INVALID_AGENT_TOKEN or AGENT_REVOKED (all 401). */
export async function authenticateAgent(
  deps: AgentDeps,
  token: string | null | undefined,
  ip: string,
): Promise<AuthenticatedAgent> {
  if (token === null || token === undefined || token.trim() === "") {
    throw new DomainError("MISSING_AGENT_TOKEN", "Send the agent token in X-Agent-Token.");
  }
  const invalid = new DomainError("INVALID_AGENT_TOKEN", "The agent token is not valid.");
  const agent = await findByToken("agent", token.trim(), deps.agents);
  if (!agent) throw invalid;
  if (agent.status !== "ACTIVE") {
    await deps.audit({
      ownerId: agent.ownerId,
      actorType: "agent",
      actorId: agent.id,
      action: "agent.token_rejected",
      outcome: "failure",
      reason: "AGENT_REVOKED",
      targetType: "agent",
      targetId: agent.id,
      ip,
    });
    throw new DomainError("AGENT_REVOKED", "The agent has been revoked.");
  }
  const owner = await deps.users.findById(agent.ownerId);
  if (!owner) throw invalid;
  return { agent, owner };
}

/** An agent as its owner sees it; `now` dates what its reputation is made of. */
export function presentAgent(agent: AgentRecord, now: number) {
  return {
    agent_id: agent.id,
    owner_id: agent.ownerId,
    display_name: agent.displayName,
    description: agent.description,
    avatar_url: agent.avatarUrl,
    status: agent.status,
    created_at: isoTime(agent.createdAt),
    revoked_at: agent.revokedAt === null ? null : isoTime(agent.revokedAt),
    agent_reputation: agent.reputation,
    reputation: presentReputation(agent, now),
  };
}

/** `GET /api/v1/core/agents/me/profile`, field for field as LIME's agent SDK reads it. */
export function presentAgentProfile({ agent, owner }: AuthenticatedAgent) {
  return {
    agent_id: agent.id,
    owner_id: owner.id,
    display_name: agent.displayName,
    avatar_url: agent.avatarUrl,
    description: agent.description,
    owner_kyc_level: owner.kycLevel,
    agent_reputation: agent.reputation,
  };
}
