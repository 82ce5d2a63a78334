/**
 * The one place where domain error codes become HTTP statuses.
 *
 * Everything that escapes a handler passes here: domain errors keep their
 * code; Elysia's validation and parse errors become VALIDATION_FAILED /
 * MALFORMED_BODY with the offending field (never the offending value);
 * unknown routes are NOT_FOUND; anything else is logged in full on the server
 * and answered as a bare INTERNAL_ERROR.
 */

import { Elysia, type ValidationError } from "elysia";
import {
  DomainError,
  type DomainErrorCode,
  type ErrorDetail,
  RateLimitedError,
  ServiceUnavailableError,
} from "../errors.ts";
import type { Logger } from "../infrastructure/logger.ts";
import { isDatabaseUnavailable } from "../infrastructure/postgres/connection.ts";
import { MAX_JSON_DEPTH, parseBoundedJson, payloadTooLarge, readBodyText } from "./body.ts";
import { failure } from "./envelope.ts";

export const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MALFORMED_REQUEST: 400,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  MALFORMED_BODY: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  INTERNAL_ERROR: 500,
  RATE_LIMIT_EXCEEDED: 429,
  AUTHENTICATION_REQUIRED: 401,
  SESSION_INVALID: 401,
  CSRF_TOKEN_MISSING: 403,
  CSRF_TOKEN_INVALID: 403,
  INVALID_CREDENTIALS: 401,
  EMAIL_ALREADY_REGISTERED: 409,
  EMAIL_NOT_VERIFIED: 403,
  EMAIL_ALREADY_VERIFIED: 409,
  VERIFICATION_CODE_INVALID: 400,
  VERIFICATION_CODE_EXPIRED: 410,
  VERIFICATION_ATTEMPTS_EXCEEDED: 403,
  ADMIN_TOKEN_MISSING: 401,
  ADMIN_TOKEN_INVALID: 401,
  USER_NOT_FOUND: 404,
  KYC_SUBMISSION_PENDING: 409,
  KYC_LEVEL_ALREADY_GRANTED: 409,
  MISSING_AGENT_TOKEN: 401,
  INVALID_AGENT_TOKEN: 401,
  AGENT_REVOKED: 401,
  AGENT_NOT_FOUND: 404,
  AUDIENCE_RESERVED: 400,
  SITE_TOKEN_MISSING: 401,
  SITE_TOKEN_INVALID: 401,
  SITE_SUSPENDED: 401,
  SITE_NOT_FOUND: 404,
  REDIRECT_URL_NOT_ALLOWED: 400,
  MISSING_POW_NONCE: 400,
  INVALID_POW: 400,
  SITE_LOGIN_REQUEST_NOT_FOUND: 404,
  REQUEST_EXPIRED: 410,
  LOGIN_REQUEST_ALREADY_APPROVED: 409,
  PASSWORD_RESET_TOKEN_INVALID: 400,
  PASSWORD_RESET_TOKEN_EXPIRED: 410,
  // The mail server is down or refused the message: the request was fine, retry later.
  EMAIL_DELIVERY_FAILED: 503,
  REDIRECT_URI_NOT_ALLOWED: 400,
  SITE_ORIGIN_REQUIRED: 409,
  BINDING_NOT_FOUND: 404,
  BINDING_EXPIRED: 410,
  METRICS_TOKEN_INVALID: 401,
  // A readiness check failed (server/observability/readiness.ts); the process itself is alive.
  NOT_READY: 503,
  BINDING_ALREADY_DECIDED: 409,
  // The database is unreachable for now; nothing was written (each step is one transaction).
  SERVICE_UNAVAILABLE: 503,
  // Agent keys and key-bound passports (docs/agent-keys.md).
  KEY_PROOF_REQUIRED: 400,
  KEY_PROOF_INVALID: 400,
  KEY_PROOF_REPLAYED: 400,
  AGENT_KEY_UNSUPPORTED: 400,
  AGENT_KEY_EXISTS: 409,
  AGENT_KEY_LIMIT: 409,
  AGENT_KEY_NOT_FOUND: 404,
  // The proof is sound, but its key is not one of the calling agent's ACTIVE keys.
  AGENT_KEY_NOT_REGISTERED: 403,
  DIRECTORY_SIGNATURE_INVALID: 400,
};

/** RFC 6750 §3: a Bearer-protected resource names its scheme on 401. */
const BEARER_CHALLENGE: Partial<Record<DomainErrorCode, string>> = {
  AUTHENTICATION_REQUIRED: 'Bearer realm="lime"',
  SESSION_INVALID: 'Bearer realm="lime", error="invalid_token"',
  ADMIN_TOKEN_MISSING: 'Bearer realm="lime-admin"',
  ADMIN_TOKEN_INVALID: 'Bearer realm="lime-admin", error="invalid_token"',
  METRICS_TOKEN_INVALID: 'Bearer realm="lime-metrics"',
};

export function errorResponse(error: DomainError): Response {
  const status = STATUS_BY_CODE[error.code];
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
  if (error instanceof RateLimitedError || error instanceof ServiceUnavailableError) {
    headers["retry-after"] = String(error.retryAfterSeconds);
  }
  const challenge = BEARER_CHALLENGE[error.code];
  if (challenge) headers["www-authenticate"] = challenge;
  const detail = status >= 500 && !(error instanceof ServiceUnavailableError) ? {} : error.detail;
  return new Response(JSON.stringify(failure(error.code, error.message, detail)), { status, headers });
}

/** The field and rule that failed, without the value (it may be a secret). */
function validationDetail(error: ValidationError): ErrorDetail {
  let first: { path?: string; summary?: string; message?: string } | undefined;
  try {
    first = error.all[0];
  } catch {
    first = undefined;
  }
  const pointer = first?.path ?? "";
  const field = pointer.replace(/^\//, "").replaceAll("/", ".");
  const location = error.type === "body" ? "body" : error.type;
  return {
    location,
    field: field === "" ? null : field,
    rule: (first?.message ?? "invalid").slice(0, 200),
  };
}

/** Long enough for a database restart or failover; short enough that clients come back promptly. */
const DATABASE_RETRY_AFTER_SECONDS = 5;
let lastOutageReport = 0;

/** An outage fails every request; one log line per 10 s says so without flooding the log. */
function reportOutage(logger: Logger, error: unknown): void {
  const now = Date.now();
  if (now - lastOutageReport < 10_000) return;
  lastOutageReport = now;
  logger.warn("database unreachable: answering 503", {
    error: error instanceof Error ? error.message : String(error),
  });
}

export function toDomainError(code: string, error: unknown, logger: Logger): DomainError {
  if (error instanceof DomainError) return error;
  // Elysia wraps whatever a parse hook throws, ours included, in a ParseError.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (code === "PARSE" && cause instanceof DomainError) return cause;
  switch (code) {
    case "VALIDATION":
      // An answer that does not match its declared model is our bug, not the client's (server/http/contract.ts).
      if ((error as ValidationError).type === "response") return internalError(logger, code, error);
      return new DomainError(
        "VALIDATION_FAILED",
        "The request does not match the expected schema.",
        validationDetail(error as ValidationError),
      );
    case "PARSE":
      return new DomainError("MALFORMED_BODY", "The request body could not be parsed.");
    case "NOT_FOUND":
      return new DomainError("NOT_FOUND", "No such route.");
    default:
      if (isDatabaseUnavailable(error)) {
        reportOutage(logger, error);
        return new ServiceUnavailableError(
          DATABASE_RETRY_AFTER_SECONDS,
          "The database is unreachable; retry later.",
        );
      }
      return internalError(logger, code, error);
  }
}

function internalError(logger: Logger, code: string, error: unknown): DomainError {
  logger.error("unhandled error", {
    code,
    error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : error,
  });
  return new DomainError("INTERNAL_ERROR", "Internal error.");
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * The one body parser: every body of this API is a JSON object. Elysia's own
 * parsers would coerce a top-level `[]`, `false` or `5` into `{}` for an
 * object schema, treat falsy JSON as no body, and read forms and multipart
 * too; here anything but an empty body or a JSON object is refused before
 * validation, and so is a body over the size or nesting bound (body.ts). An
 * empty body becomes `null` (absent, for routes whose body is optional).
 */
async function parseJsonObject(
  request: Request,
  contentType: string,
  maxBodyBytes: number,
): Promise<Record<string, unknown> | null> {
  const text = await readBodyText(request, maxBodyBytes);
  if (text.trim() === "") return null;
  if (!JSON_MEDIA_TYPE.test(contentType ?? "")) {
    throw new DomainError(
      "UNSUPPORTED_MEDIA_TYPE",
      "Send the body as JSON with Content-Type: application/json.",
    );
  }
  const parsed = parseBoundedJson(text);
  if (!parsed.ok) {
    throw parsed.failure === "too_deep"
      ? new DomainError("MALFORMED_BODY", `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`, {
          max_depth: MAX_JSON_DEPTH,
        })
      : new DomainError("MALFORMED_BODY", "The request body is not valid JSON.");
  }
  const value = parsed.value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new DomainError("VALIDATION_FAILED", "The request body must be a JSON object.", {
      location: "body",
      field: null,
      rule: "Expected a JSON object",
    });
  }
  return value as Record<string, unknown>;
}

/**
 * How an error is shown on a page for people (an HTML page), for requests a
 * browser makes for a page; everything else gets the envelope.
 */
export type PageErrorRenderer = (error: DomainError, status: number) => Response;

function wantsPage(request: Request): boolean {
  const path = new URL(request.url).pathname;
  if (path.startsWith("/api/") || path.startsWith("/.well-known/")) return false;
  return request.headers.get("accept")?.includes("text/html") === true;
}

/** Global hooks: body-size guard, default headers, the JSON body parser, and the error mapping. */
export function errorBoundary(logger: Logger, maxBodyBytes: number, renderPageError?: PageErrorRenderer) {
  return new Elysia({ name: "lime-error-boundary" })
    .onRequest(({ request, set }) => {
      set.headers["cache-control"] = "no-store";
      set.headers["x-content-type-options"] = "nosniff";
      const length = request.headers.get("content-length");
      // Refused before a byte of the body is read; the transport then closes the connection.
      if (length !== null && Number(length) > maxBodyBytes)
        return errorResponse(payloadTooLarge(maxBodyBytes));
    })
    .onParse({ as: "global" }, ({ request, contentType }) =>
      parseJsonObject(request, contentType, maxBodyBytes),
    )
    .onError({ as: "global" }, ({ code, error, request }) => {
      const domainError = toDomainError(String(code), error, logger);
      if (renderPageError && wantsPage(request))
        return renderPageError(domainError, STATUS_BY_CODE[domainError.code]);
      return errorResponse(domainError);
    });
}
