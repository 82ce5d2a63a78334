/**
 * The site-side answers of the wire protocol (docs/api.md), read into
 * camelCase values, and the events of the site's stream.
 */
import { isRecord } from "../internal/http.ts";
import { loginRequestFields, optStr, readRecord, str, timestamp } from "../internal/wire.ts";
import { type RevocationEntry, readRevocationEntry } from "./revocations.ts";

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

/** `POST /api/v1/modules/bindings/requests`: where to send the user's browser. */
export interface CreatedBindingRequest {
  /** Keep it in the user's session: the callback must carry the same one. */
  bindingId: string;
  /** LIME's hosted connect page; redirect the browser here as given. */
  connectUrl: string;
  status: string;
  expiresAt: string;
}

/** `GET /api/v1/modules/bindings/requests/{id}` as the owning site sees it. */
export interface BindingRequestState {
  bindingId: string;
  /** The reader's own site (null from servers that do not send it). */
  siteId: string | null;
  /** REVOKED once the owner ends the binding or the agent is revoked. */
  status: "PENDING" | "COMPLETED" | "DENIED" | "EXPIRED" | "REVOKED" | (string & {});
  expiresAt: string;
  /** The agent picked, once COMPLETED (kept when REVOKED). */
  agentId: string | null;
  decidedAt: string | null;
  revokedAt: string | null;
  /** "owner_revoked" or "agent_revoked" when REVOKED. */
  revocationReason: string | null;
}

const isHttpUrl = (value: string): boolean => {
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
};

export function readCreatedBinding(value: unknown): CreatedBindingRequest & { siteId: string | null } {
  return readRecord(value, "binding request", {
    bindingId: str("binding_id"),
    // The browser is sent there: anything but an http(s) URL (javascript:, data:) is not the protocol.
    connectUrl: str("connect_url", isHttpUrl),
    status: str("status"),
    expiresAt: timestamp("expires_at"),
    siteId: optStr("site_id"),
  });
}

export function readBindingState(value: unknown): BindingRequestState {
  return readRecord(value, "binding request status", {
    bindingId: str("binding_id"),
    siteId: optStr("site_id"),
    status: str("status"),
    expiresAt: timestamp("expires_at"),
    agentId: optStr("agent_id"),
    decidedAt: optStr("decided_at"),
    revokedAt: optStr("revoked_at"),
    revocationReason: optStr("revocation_reason"),
  });
}

export type StreamEvent =
  | { type: "approved"; requestId: string; passportJwt: string; redirectUrl: string | null }
  | { type: "expired"; requestId: string }
  | { type: "keepalive" }
  /** The server is about to end the stream and says why (LIME's frame; `_sse.py` logs it). */
  | { type: "error"; code: string; message: string }
  /** The issuer revoked an agent, an agent's token or a binding (docs/revocation.md). */
  | { type: "revoked"; entry: RevocationEntry }
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
    case "error": {
      // LIME's SDK falls back to SSE_ERROR / a generic message for missing members; so do we.
      const code = typeof parsed.code === "string" && parsed.code !== "" ? parsed.code : "SSE_ERROR";
      const message = typeof parsed.message === "string" ? parsed.message : "SSE error frame";
      return { type: "error", code, message };
    }
    case "expired":
      return typeof requestId === "string" && requestId !== "" ? { type: "expired", requestId } : undefined;
    case "approved": {
      const jwt = parsed.agent_passport_jwt;
      if (typeof requestId !== "string" || requestId === "" || typeof jwt !== "string" || jwt === "")
        return undefined;
      const redirectUrl = typeof parsed.redirect_url === "string" ? parsed.redirect_url : null;
      return { type: "approved", requestId, passportJwt: jwt, redirectUrl };
    }
    case "revoked": {
      const entry = readRevocationEntry(parsed);
      // A kind this SDK does not know is not the protocol it speaks: ignored like an unknown type.
      return entry === undefined ? { type: "unknown" } : { type: "revoked", entry };
    }
    default:
      return { type: "unknown" };
  }
}
