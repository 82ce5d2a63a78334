/**
 * OAuth protocol errors and their wire forms.
 *
 * The OAuth routes answer in the JSON of RFC 6749 §5.2 (`{"error",
 * "error_description"}`) with `Cache-Control: no-store`, not in the LIME
 * envelope: MCP clients parse that shape and recover on `invalid_grant` and
 * `invalid_client` only, so each failure carries the exact code its RFC
 * names. The service throws `OAuthError` without an HTTP status; the status
 * is decided here, in one table.
 *
 * @example
 * throw new OAuthError("invalid_grant", "The authorization code has already been used.");
 */

import { DomainError, RateLimitedError } from "../../errors.ts";
import { errorResponse } from "../../http/error-boundary.ts";

export type OAuthErrorCode =
  /** RFC 6749 §5.2 */
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  /** RFC 6749 §4.1.2.1 */
  | "access_denied"
  | "unsupported_response_type"
  | "server_error"
  | "temporarily_unavailable"
  /** RFC 8707 §2 */
  | "invalid_target"
  /** RFC 7009 §2.2.1 */
  | "unsupported_token_type"
  /** RFC 7591 §3.2.2 */
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  /** RFC 6750 §3.1 (introspection callers) */
  | "invalid_token";

/** The status each OAuth error is answered with (the OpenAPI description groups codes by it). */
export const OAUTH_ERROR_STATUS: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  // RFC 6749 §5.2: 401 when the client tried to authenticate; we always report 401 for it.
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  unsupported_response_type: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_target: 400,
  unsupported_token_type: 400,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  invalid_token: 401,
};

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;

  constructor(error: OAuthErrorCode, description: string) {
    super(description);
    this.error = error;
    this.name = "OAuthError";
  }
}

/** Headers every OAuth JSON answer carries (RFC 6749 §5.1: tokens and errors are never cached). */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  pragma: "no-cache",
  "x-content-type-options": "nosniff",
};

export function jsonResponse(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...NO_STORE_HEADERS, ...extra } });
}

/** The `WWW-Authenticate` challenge of the 401 errors (RFC 6749 §5.2, RFC 6750 §3). */
export const OAUTH_CHALLENGES: Readonly<Partial<Record<OAuthErrorCode, string>>> = {
  invalid_client: 'Basic realm="lime-oauth"',
  invalid_token: 'Bearer error="invalid_token"',
};

export function oauthErrorResponse(error: OAuthError): Response {
  const headers: Record<string, string> = {};
  const challenge = OAUTH_CHALLENGES[error.error];
  if (challenge !== undefined) headers["www-authenticate"] = challenge;
  return jsonResponse(
    { error: error.error, error_description: error.message },
    OAUTH_ERROR_STATUS[error.error],
    headers,
  );
}

/**
 * The answer of an OAuth JSON route for anything its handler threw: OAuth
 * errors as RFC 6749 JSON, rate limits as 429 with `Retry-After` (in the
 * same JSON shape), other domain errors (agent credentials) in the LIME
 * envelope their clients already read. Anything else propagates to the
 * global boundary, which logs it and answers 500.
 */
export function oauthFailure(error: unknown): Response {
  if (error instanceof OAuthError) return oauthErrorResponse(error);
  if (error instanceof RateLimitedError) {
    return jsonResponse(
      { error: "temporarily_unavailable", error_description: "Too many requests; retry later." },
      429,
      { "retry-after": String(error.retryAfterSeconds) },
    );
  }
  if (error instanceof DomainError) return errorResponse(error);
  throw error;
}

/** Codes of this module that travel in the LIME envelope (agent-facing routes). */
export type OAuthEnvelopeCode =
  | "OAUTH_CAPABILITY_DENIED"
  | "OAUTH_AUTHORIZATION_REQUEST_NOT_FOUND"
  | "OAUTH_AUTHORIZATION_REQUEST_EXPIRED"
  | "OAUTH_RESOURCE_NOT_FOUND"
  | "OAUTH_RESOURCE_TAKEN"
  | "OAUTH_INVALID_RESOURCE"
  | "OAUTH_INVALID_JWKS"
  | "MISSING_POW_NONCE"
  | "INVALID_POW";

export const ENVELOPE_STATUS: Readonly<Record<OAuthEnvelopeCode, number>> = {
  OAUTH_CAPABILITY_DENIED: 403,
  OAUTH_AUTHORIZATION_REQUEST_NOT_FOUND: 404,
  OAUTH_AUTHORIZATION_REQUEST_EXPIRED: 410,
  OAUTH_RESOURCE_NOT_FOUND: 404,
  OAUTH_RESOURCE_TAKEN: 409,
  OAUTH_INVALID_RESOURCE: 400,
  OAUTH_INVALID_JWKS: 400,
  MISSING_POW_NONCE: 400,
  INVALID_POW: 400,
};

/**
 * An error of this module in the LIME envelope. Kept apart from the server's
 * `DomainError` codes so the module adds its codes without touching the
 * shared table; the wire shape is the same envelope.
 */
export class OAuthEnvelopeError extends Error {
  readonly code: OAuthEnvelopeCode;

  constructor(code: OAuthEnvelopeCode, message: string) {
    super(message);
    this.code = code;
    this.name = "OAuthEnvelopeError";
  }
}

export function envelopeErrorResponse(error: OAuthEnvelopeError): Response {
  return jsonResponse(
    { ok: false, error: { code: error.code, message: error.message, detail: {} } },
    ENVELOPE_STATUS[error.code],
  );
}

/** For the envelope routes of this module: module codes, then the server's own mapping. */
export function envelopeFailure(error: unknown): Response {
  if (error instanceof OAuthEnvelopeError) return envelopeErrorResponse(error);
  if (error instanceof DomainError) return errorResponse(error);
  throw error;
}
