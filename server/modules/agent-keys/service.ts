/**
 * Agent signing keys (docs/agent-keys.md), as plain functions over stores:
 * an agent registers a key by proving it holds it (a DPoP-format proof for
 * this route, whose key is the one registered), lists and revokes its keys,
 * and uploads the signature its directory is served with; the owner lists
 * and revokes them too. At most 5 active keys per agent, and a thumbprint
 * registered once is never registered again, by any agent. A revoked key's
 * revocation reaches sites like the agent's own (server/modules/revocation).
 * An agent revoked takes its keys with it: they show as revoked, its
 * directory is gone, and its token no longer proves anything.
 */

import { algorithmOf } from "@lime-ts/core/http-signatures";
import { type Clock, isoTime } from "../../clock.ts";
import type { AuthenticatedAgent } from "../../core/agents/service.ts";
import type { AgentRecord, AgentStore } from "../../core/agents/store.ts";
import { DomainError } from "../../errors.ts";
import { type AuditRecorder, ownerAction } from "../../foundation/audit/service.ts";
import type { UserRecord } from "../../foundation/users/store.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { RevocationHooks } from "../revocation/service.ts";
import { checkDirectorySignature, type UploadedSignature } from "./directory.ts";
import { AGENT_KEYS_PATH, issuerUrl } from "./paths.ts";
import { checkKeyProof } from "./proof.ts";
import type { ProofReplayCache } from "./replay-cache.ts";
import type { AgentKeyRecord, AgentKeyStore } from "./store.ts";

/** Active keys an agent may hold at once: room to rotate (register the new, then revoke the old). */
export const MAX_ACTIVE_AGENT_KEYS = 5;
/** Keys a list answers at most: every active one, then the newest revoked. */
export const AGENT_KEY_LIST_LIMIT = 100;

export interface AgentKeyDeps {
  clock: Clock;
  /** PUBLIC_URL: key proofs name it in `htu`, directory signatures cover its authority. */
  issuer: string;
  keys: AgentKeyStore;
  agents: Pick<AgentStore, "findById">;
  replay: ProofReplayCache;
  audit: AuditRecorder;
  /** Tells sites of revoked keys; absent where nobody listens. */
  revocations?: Pick<RevocationHooks, "agentKeyRevoked">;
  metrics?: Pick<Metrics, "agentKeyRegistered">;
}

const keyNotFound = () => new DomainError("AGENT_KEY_NOT_FOUND", "No such active key of this agent.");

function cleanLabel(raw: string | null | undefined): string | null {
  const label = raw?.trim() ?? "";
  return label === "" ? null : label;
}

/** `POST /api/v1/core/agents/me/keys`: the key is the proof's; the proof is single use. */
export async function registerAgentKey(
  deps: AgentKeyDeps,
  { agent, owner }: AuthenticatedAgent,
  proof: string | null,
  label: string | null | undefined,
  ip: string,
): Promise<AgentKeyRecord> {
  if (proof === null || proof.trim() === "") {
    throw new DomainError("KEY_PROOF_REQUIRED", "Send a DPoP key proof made with the key to register.");
  }
  const proven = await checkKeyProof(deps, proof, {
    htm: "POST",
    htu: issuerUrl(deps.issuer, AGENT_KEYS_PATH),
  });
  const key: AgentKeyRecord = {
    kid: proven.kid,
    agentId: agent.id,
    ownerId: owner.id,
    alg: algorithmOf(proven.jwk),
    jwk: proven.jwk,
    label: cleanLabel(label),
    createdAt: deps.clock.now(),
    revokedAt: null,
    directorySignature: null,
  };
  const outcome = await deps.keys.register(key, MAX_ACTIVE_AGENT_KEYS);
  if (outcome === "exists") {
    throw new DomainError(
      "AGENT_KEY_EXISTS",
      "This key was already registered; a key is registered once, ever. Generate a new one.",
    );
  }
  if (outcome === "limit") {
    throw new DomainError(
      "AGENT_KEY_LIMIT",
      `An agent holds at most ${MAX_ACTIVE_AGENT_KEYS} active keys; revoke one first.`,
      { max_active_keys: MAX_ACTIVE_AGENT_KEYS },
    );
  }
  deps.metrics?.agentKeyRegistered(key.alg);
  await deps.audit({
    ownerId: owner.id,
    actorType: "agent",
    actorId: agent.id,
    action: "agent_key.registered",
    targetType: "agent_key",
    targetId: key.kid,
    ip,
  });
  return key;
}

/** The agent's keys, active first (bounded by AGENT_KEY_LIST_LIMIT). */
export function listAgentKeys(deps: AgentKeyDeps, agent: AgentRecord): Promise<AgentKeyRecord[]> {
  return deps.keys.listByAgent(agent.id, AGENT_KEY_LIST_LIMIT);
}

async function revoke(
  deps: AgentKeyDeps,
  agent: AgentRecord,
  kid: string,
  actor: "agent" | "owner",
  ip: string,
): Promise<AgentKeyRecord> {
  const now = deps.clock.now();
  const key = await deps.keys.findByKid(kid);
  if (key === null || key.agentId !== agent.id || key.revokedAt !== null || agent.status !== "ACTIVE") {
    throw keyNotFound();
  }
  // Recorded before the key changes, as for agents: once revoked, a retry would be AGENT_KEY_NOT_FOUND
  // and the revocation would never reach the list.
  await deps.revocations?.agentKeyRevoked(agent.id, key.kid, now);
  const revoked = await deps.keys.revoke(key.kid, agent.id, now);
  if (revoked === null) throw keyNotFound();
  const target = { type: "agent_key", id: key.kid };
  await deps.audit(
    actor === "owner"
      ? ownerAction(agent.ownerId, "agent_key.revoked", target, ip)
      : {
          ownerId: agent.ownerId,
          actorType: "agent",
          actorId: agent.id,
          action: "agent_key.revoked",
          targetType: target.type,
          targetId: target.id,
          ip,
        },
  );
  return revoked;
}

/** `DELETE /api/v1/core/agents/me/keys/:kid`: only an active key of the calling agent. */
export function revokeOwnAgentKey(
  deps: AgentKeyDeps,
  { agent }: AuthenticatedAgent,
  kid: string,
  ip: string,
): Promise<AgentKeyRecord> {
  return revoke(deps, agent, kid, "agent", ip);
}

/** The owner's agent (any status), or AGENT_NOT_FOUND. */
export async function ownedAgent(
  deps: AgentKeyDeps,
  owner: UserRecord,
  agentId: string,
): Promise<AgentRecord> {
  const agent = await deps.agents.findById(agentId);
  if (agent === null || agent.ownerId !== owner.id) {
    throw new DomainError("AGENT_NOT_FOUND", "No such agent.");
  }
  return agent;
}

/** The owner revokes a key of one of their agents; any other key is AGENT_KEY_NOT_FOUND. */
export async function revokeAgentKeyAsOwner(
  deps: AgentKeyDeps,
  owner: UserRecord,
  agentId: string,
  kid: string,
  ip: string,
): Promise<AgentKeyRecord> {
  const agent = await deps.agents.findById(agentId);
  if (agent === null || agent.ownerId !== owner.id) throw keyNotFound();
  return revoke(deps, agent, kid, "owner", ip);
}

/** `PUT /api/v1/core/agents/me/keys/:kid/directory-signature`: checked, then served with the directory. */
export async function uploadDirectorySignature(
  deps: AgentKeyDeps,
  { agent }: AuthenticatedAgent,
  kid: string,
  upload: UploadedSignature,
): Promise<void> {
  const key = await deps.keys.findByKid(kid);
  if (key === null || key.agentId !== agent.id || key.revokedAt !== null) throw keyNotFound();
  const signature = await checkDirectorySignature(key, deps.issuer, upload, deps.clock.now());
  if (!(await deps.keys.setDirectorySignature(kid, agent.id, signature))) throw keyNotFound();
}

/**
 * A key as the API shows it. A key of a revoked agent shows as revoked
 * (since the agent was), whatever its own row says.
 */
export function presentAgentKey(key: AgentKeyRecord, agent: Pick<AgentRecord, "status" | "revokedAt">) {
  const revokedAt = key.revokedAt ?? (agent.status === "REVOKED" ? agent.revokedAt : null);
  const jwk = key.jwk;
  return {
    kid: key.kid,
    alg: key.alg,
    jwk:
      jwk.kty === "EC"
        ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
        : { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
    label: key.label,
    status: revokedAt === null ? ("ACTIVE" as const) : ("REVOKED" as const),
    created_at: isoTime(key.createdAt),
    revoked_at: revokedAt === null ? null : isoTime(revokedAt),
    directory_signature_expires_at:
      key.directorySignature === null ? null : isoTime(key.directorySignature.expiresAt),
  };
}
