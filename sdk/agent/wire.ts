/**
 * The agent-side answers of the wire protocol (docs/api.md), read into
 * camelCase values.
 */
import { int, invalid, num, optStr, record, str, timestamp } from "../internal/wire.ts";

export type LoginRequestStatus = "PENDING" | "APPROVED" | "DELIVERED" | "EXPIRED";

/** `GET /api/v1/auth/requests/{id}`. */
export interface LoginChallenge {
  requestId: string;
  status: LoginRequestStatus | (string & {});
  powChallenge: string;
  powDifficulty: number;
  powAlgorithm: string;
  expiresAt: string;
  site: { siteId: string; displayName: string };
}

/** What `AgentClient.login` returns: the server's approval plus how the proof of work went. */
export interface LoginApproval {
  requestId: string;
  siteId: string;
  status: string;
  expiresAt: string;
  approvedAgentId: string;
  pow: { difficulty: number; nonce: string; hashes: number; solveMs: number };
}

/** `GET /api/v1/core/agents/me/profile`. */
export interface AgentProfile {
  agentId: string;
  ownerId: string;
  displayName: string;
  avatarUrl: string | null;
  description: string | null;
  ownerKycLevel: number;
  agentReputation: number;
}

export function readChallenge(value: unknown): LoginChallenge {
  const what = "login challenge";
  const data = record(value, what);
  const site = record(data.site, what);
  return {
    requestId: str(data, "login_request_id", what),
    status: str(data, "status", what),
    powChallenge: str(data, "pow_challenge", what),
    powDifficulty: int(data, "pow_difficulty", what),
    powAlgorithm: str(data, "pow_algorithm", what),
    expiresAt: timestamp(data, "expires_at", what),
    site: { siteId: str(site, "site_id", what), displayName: str(site, "display_name", what) },
  };
}

export function readApproval(value: unknown): Omit<LoginApproval, "pow"> {
  const what = "login approval";
  const data = record(value, what);
  return {
    requestId: str(data, "request_id", what),
    siteId: str(data, "site_id", what),
    status: str(data, "status", what),
    expiresAt: timestamp(data, "expires_at", what),
    approvedAgentId: str(data, "approved_agent_id", what),
  };
}

export function readProfile(value: unknown): AgentProfile {
  const what = "agent profile";
  const data = record(value, what);
  return {
    agentId: str(data, "agent_id", what),
    ownerId: str(data, "owner_id", what),
    displayName: str(data, "display_name", what),
    avatarUrl: optStr(data, "avatar_url", what),
    description: optStr(data, "description", what),
    ownerKycLevel: int(data, "owner_kyc_level", what),
    agentReputation: num(data, "agent_reputation", what),
  };
}

/** `POST /api/v1/core/passports`: the JWT and how long it lives (from `expires_at`). */
export function readSelfServicePassport(value: unknown): { passport: string; lifetimeMs: number } {
  const what = "passport";
  const data = record(value, what);
  const passport = str(data, "passport", what);
  const expiresAt = Date.parse(timestamp(data, "expires_at", what));
  return { passport, lifetimeMs: Math.max(0, expiresAt - Date.now()) };
}

/** RFC 6749 §5.1 token response of `POST /api/v1/modules/oauth/token`. */
export function readTokenResponse(value: unknown): {
  accessToken: string;
  tokenType: string;
  expiresInMs: number;
} {
  const what = "token response";
  const data = record(value, what);
  const tokenType = str(data, "token_type", what);
  if (tokenType.toLowerCase() !== "bearer") throw invalid(what, "token_type");
  const expiresIn = num(data, "expires_in", what);
  if (expiresIn <= 0) throw invalid(what, "expires_in");
  return { accessToken: str(data, "access_token", what), tokenType, expiresInMs: expiresIn * 1000 };
}
