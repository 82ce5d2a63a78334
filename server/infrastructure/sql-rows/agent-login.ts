import type {
  LoginRequestRecord,
  LoginRequestStatus,
  OutcomeEvent,
  OutcomeType,
} from "../../modules/agent-login/store.ts";
import type { RevocationWire } from "../../modules/revocation/entry.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** A `login_requests` row, as the SQLite and PostgreSQL stores read it. */
export interface RequestRow {
  id: string;
  site_id: string;
  status: string;
  pow_challenge: string;
  pow_difficulty: number;
  redirect_url: string | null;
  created_at: BigintColumn;
  expires_at: BigintColumn;
  approved_agent_id: string | null;
  approved_at: BigintColumn | null;
  passport_jwt: string | null;
  passport_expires_at: BigintColumn | null;
  delivered_at: BigintColumn | null;
  challenge_shown_at: BigintColumn | null;
}

/** A `login_outcomes` row joined with its request's passport and redirect. */
export interface OutcomeRow {
  /** INTEGER PRIMARY KEY in SQLite; BIGINT IDENTITY in PostgreSQL, which arrives as a string like the times. */
  id: BigintColumn;
  site_id: string;
  login_request_id: string | null;
  type: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
  delivered_at: BigintColumn | null;
  passport_jwt: string | null;
  redirect_url: string | null;
  /** The `revoked` event's entry as JSON; null otherwise. */
  revocation?: string | null;
}

export function toRequest(row: RequestRow): LoginRequestRecord {
  return {
    id: row.id,
    siteId: row.site_id,
    status: row.status as LoginRequestStatus,
    powChallenge: row.pow_challenge,
    powDifficulty: row.pow_difficulty,
    redirectUrl: row.redirect_url,
    createdAt: millis(row.created_at),
    expiresAt: millis(row.expires_at),
    approvedAgentId: row.approved_agent_id,
    approvedAt: millisOrNull(row.approved_at),
    passportJwt: row.passport_jwt,
    passportExpiresAt: millisOrNull(row.passport_expires_at),
    deliveredAt: millisOrNull(row.delivered_at),
    challengeShownAt: millisOrNull(row.challenge_shown_at),
  };
}

export function toOutcome(row: OutcomeRow): OutcomeEvent {
  if (row.type === "revoked") {
    return {
      id: Number(row.id),
      siteId: row.site_id,
      loginRequestId: null,
      type: "revoked",
      createdAt: millis(row.created_at),
      expiresAt: millis(row.expires_at),
      deliveredAt: millisOrNull(row.delivered_at),
      passportJwt: null,
      redirectUrl: null,
      revocation: JSON.parse(row.revocation!) as RevocationWire,
    };
  }
  return {
    id: Number(row.id),
    siteId: row.site_id,
    loginRequestId: row.login_request_id,
    type: row.type as OutcomeType,
    createdAt: millis(row.created_at),
    expiresAt: millis(row.expires_at),
    deliveredAt: millisOrNull(row.delivered_at),
    passportJwt: row.type === "approved" ? row.passport_jwt : null,
    redirectUrl: row.redirect_url,
  };
}
