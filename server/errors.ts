/**
 * Domain errors of the identity server.
 *
 * Services throw `DomainError` with a stable `code` and no HTTP status; the
 * one error boundary (`server/http/error-boundary.ts`) maps each code to a
 * status and the response envelope. Messages are for humans and never carry
 * a token, a password, a code or a hash.
 *
 * @example
 * throw new DomainError("REQUEST_EXPIRED", "The login request has expired.");
 */

export type DomainErrorCode =
  | "VALIDATION_FAILED"
  | "MALFORMED_REQUEST"
  | "HEADERS_TOO_LARGE"
  | "REQUEST_TIMEOUT"
  | "MALFORMED_BODY"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "NOT_FOUND"
  | "INTERNAL_ERROR"
  | "RATE_LIMIT_EXCEEDED"
  | "AUTHENTICATION_REQUIRED"
  | "SESSION_INVALID"
  | "CSRF_TOKEN_MISSING"
  | "CSRF_TOKEN_INVALID"
  | "INVALID_CREDENTIALS"
  | "EMAIL_ALREADY_REGISTERED"
  | "EMAIL_NOT_VERIFIED"
  | "EMAIL_ALREADY_VERIFIED"
  | "VERIFICATION_CODE_INVALID"
  | "VERIFICATION_CODE_EXPIRED"
  | "VERIFICATION_ATTEMPTS_EXCEEDED"
  | "ADMIN_TOKEN_MISSING"
  | "ADMIN_TOKEN_INVALID"
  | "USER_NOT_FOUND"
  | "KYC_SUBMISSION_PENDING"
  | "KYC_LEVEL_ALREADY_GRANTED"
  | "MISSING_AGENT_TOKEN"
  | "INVALID_AGENT_TOKEN"
  | "AGENT_REVOKED"
  | "AGENT_NOT_FOUND"
  | "AUDIENCE_RESERVED"
  | "SITE_TOKEN_MISSING"
  | "SITE_TOKEN_INVALID"
  | "SITE_SUSPENDED"
  | "SITE_NOT_FOUND"
  | "REDIRECT_URL_NOT_ALLOWED"
  | "MISSING_POW_NONCE"
  | "INVALID_POW"
  | "SITE_LOGIN_REQUEST_NOT_FOUND"
  | "REQUEST_EXPIRED"
  | "LOGIN_REQUEST_ALREADY_APPROVED"
  | "PASSWORD_RESET_TOKEN_INVALID"
  | "PASSWORD_RESET_TOKEN_EXPIRED"
  | "EMAIL_DELIVERY_FAILED"
  | "REDIRECT_URI_NOT_ALLOWED"
  | "SITE_ORIGIN_REQUIRED"
  | "BINDING_NOT_FOUND"
  | "BINDING_EXPIRED"
  | "METRICS_TOKEN_INVALID"
  | "NOT_READY"
  | "BINDING_ALREADY_DECIDED"
  | "SERVICE_UNAVAILABLE"
  | "KEY_PROOF_REQUIRED"
  | "KEY_PROOF_INVALID"
  | "KEY_PROOF_REPLAYED"
  | "AGENT_KEY_UNSUPPORTED"
  | "AGENT_KEY_EXISTS"
  | "AGENT_KEY_LIMIT"
  | "AGENT_KEY_NOT_FOUND"
  | "AGENT_KEY_NOT_REGISTERED"
  | "DIRECTORY_SIGNATURE_INVALID";

export type ErrorDetail = Record<string, string | number | boolean | null>;

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly detail: ErrorDetail;

  constructor(code: DomainErrorCode, message: string, detail: ErrorDetail = {}) {
    super(message);
    this.code = code;
    this.detail = detail;
    this.name = "DomainError";
  }
}

/** A limit was reached; `retryAfterSeconds` becomes the `Retry-After` header (RFC 9110 §10.2.3). */
export class RateLimitedError extends DomainError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, message = "Too many requests; retry later.") {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super("RATE_LIMIT_EXCEEDED", message, { retry_after_seconds: seconds });
    this.retryAfterSeconds = seconds;
    this.name = "RateLimitedError";
  }
}

/**
 * A dependency the request needs (the database) is unreachable for now: the
 * request was fine and nothing was written, so the client retries after
 * `Retry-After` (RFC 9110 §15.6.4).
 */
export class ServiceUnavailableError extends DomainError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds = 5, message = "The service is temporarily unavailable; retry later.") {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super("SERVICE_UNAVAILABLE", message, { retry_after_seconds: seconds });
    this.retryAfterSeconds = seconds;
    this.name = "ServiceUnavailableError";
  }
}
