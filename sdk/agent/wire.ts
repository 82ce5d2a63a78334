/**
 * The agent-side answers of the wire protocol (docs/api.md), read into
 * camelCase values.
 */
import {
  int,
  loginRequestFields,
  nested,
  num,
  optStr,
  readRecord,
  str,
  timestamp,
} from "../internal/wire.ts";

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
  return readRecord(value, "login challenge", {
    ...loginRequestFields,
    powChallenge: str("pow_challenge"),
    powDifficulty: int("pow_difficulty"),
    powAlgorithm: str("pow_algorithm"),
    site: nested("site", { siteId: str("site_id"), displayName: str("display_name") }),
  });
}

export function readApproval(value: unknown): Omit<LoginApproval, "pow"> {
  return readRecord(value, "login approval", {
    requestId: str("request_id"),
    siteId: str("site_id"),
    status: str("status"),
    expiresAt: timestamp("expires_at"),
    approvedAgentId: str("approved_agent_id"),
  });
}

export function readProfile(value: unknown): AgentProfile {
  return readRecord(value, "agent profile", {
    agentId: str("agent_id"),
    ownerId: str("owner_id"),
    displayName: str("display_name"),
    avatarUrl: optStr("avatar_url"),
    description: optStr("description"),
    ownerKycLevel: int("owner_kyc_level"),
    agentReputation: num("agent_reputation"),
  });
}

/** `POST /api/v1/core/passports`: the JWT and how long it lives (from `expires_at`). */
export function readSelfServicePassport(value: unknown): { passport: string; lifetimeMs: number } {
  const { passport, expiresAt } = readRecord(value, "passport", {
    // Compact JWS form only: the passport goes into a header and, from the CLI, onto a terminal.
    passport: str("passport", (jwt) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(jwt)),
    expiresAt: timestamp("expires_at"),
  });
  return { passport, lifetimeMs: Math.max(0, Date.parse(expiresAt) - Date.now()) };
}

/** RFC 6749 §5.1 token response of `POST /api/v1/modules/oauth/token`. */
export function readTokenResponse(value: unknown): {
  accessToken: string;
  tokenType: string;
  expiresInMs: number;
} {
  const { tokenType, expiresIn, accessToken } = readRecord(value, "token response", {
    tokenType: str("token_type", (type) => type.toLowerCase() === "bearer"),
    expiresIn: num("expires_in", (seconds) => seconds > 0),
    accessToken: str("access_token"),
  });
  return { accessToken, tokenType, expiresInMs: expiresIn * 1000 };
}
