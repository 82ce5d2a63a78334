/**
 * The site-side answers of the wire protocol (docs/api.md), read into
 * camelCase values, and the events of the site's stream.
 */
import { isRecord } from "../internal/http.ts";
import { loginRequestFields, optStr, readRecord } from "../internal/wire.ts";

export interface CreatedLoginRequest {
  requestId: string;
  status: string;
  expiresAt: string;
}

/** `GET /api/v1/modules/agent-login/requests/{id}` as the owning site sees it. */
export interface LoginRequestState {
  requestId: string;
  /** The site the request belongs to, i.e. the reader's own (null from servers that do not send it). */
  siteId: string | null;
  status: "PENDING" | "APPROVED" | "DELIVERED" | "EXPIRED" | (string & {});
  expiresAt: string;
  approvedAgentId: string | null;
  /** The site-login passport, returned while it is valid (beyond LIME). */
  passportJwt: string | null;
}

export type StreamEvent =
  | { type: "approved"; requestId: string; passportJwt: string; redirectUrl: string | null }
  | { type: "expired"; requestId: string }
  | { type: "keepalive" }
  /** A type this SDK does not know yet: ignored, so new server events never break old sites. */
  | { type: "unknown" };

export function readCreated(value: unknown): CreatedLoginRequest & { siteId: string | null } {
  return readRecord(value, "login request", { ...loginRequestFields, siteId: optStr("site_id") });
}

export function readRequestState(value: unknown): LoginRequestState {
  return readRecord(value, "login request status", {
    ...loginRequestFields,
    siteId: optStr("site_id"),
    approvedAgentId: optStr("approved_agent_id"),
    passportJwt: optStr("agent_passport_jwt"),
  });
}

/** One `data:` payload of the event stream; `undefined` when it is not the protocol. */
export function readStreamEvent(data: string): StreamEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || typeof parsed.type !== "string") return undefined;
  const requestId = parsed.login_request_id;
  switch (parsed.type) {
    case "keepalive":
      return { type: "keepalive" };
    case "expired":
      return typeof requestId === "string" && requestId !== "" ? { type: "expired", requestId } : undefined;
    case "approved": {
      const jwt = parsed.agent_passport_jwt;
      if (typeof requestId !== "string" || requestId === "" || typeof jwt !== "string" || jwt === "")
        return undefined;
      const redirectUrl = typeof parsed.redirect_url === "string" ? parsed.redirect_url : null;
      return { type: "approved", requestId, passportJwt: jwt, redirectUrl };
    }
    default:
      return { type: "unknown" };
  }
}
