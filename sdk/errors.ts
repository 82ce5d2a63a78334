/**
 * Typed errors of the SDKs.
 *
 * Two families, so callers can tell "the server said no" from "we never got
 * a usable answer":
 * - `LimeApiError`: the server answered with an error envelope (or an HTTP
 *   error status without one). `code` is the server's stable code
 *   (`INVALID_POW`, `RATE_LIMIT_EXCEEDED`, ...), `status` the HTTP status,
 *   `detail` the envelope's detail object.
 * - `LimeSdkError`: the SDK itself gave up (network down, timeout, aborted,
 *   a response that is not the protocol, JWKS unavailable, ...), with a code
 *   from `SdkErrorCode`.
 * Passport verification failures stay the core's `PassportError` / `KeyError`,
 * and request-signature ones its `SignatureError` (SIGNATURE_*), all
 * re-exported by the SDK, so a site has one `switch` for them wherever the
 * verification ran.
 *
 * Messages never contain a token or a secret.
 *
 * @example
 * try { await agent.login(id) }
 * catch (err) { if (err instanceof LimeApiError && err.code === "REQUEST_EXPIRED") askForANewOne() }
 */

/** Codes the published LIME clients branch on, plus the ones our server adds (see docs/api.md). */
export type KnownApiErrorCode =
  | "MISSING_AGENT_TOKEN"
  | "INVALID_AGENT_TOKEN"
  | "SITE_TOKEN_MISSING"
  | "SITE_TOKEN_INVALID"
  | "SITE_SUSPENDED"
  | "RATE_LIMIT_EXCEEDED"
  | "MISSING_POW_NONCE"
  | "INVALID_POW"
  | "SITE_LOGIN_REQUEST_NOT_FOUND"
  | "REQUEST_EXPIRED"
  | "LOGIN_REQUEST_ALREADY_APPROVED"
  | "REDIRECT_URI_NOT_ALLOWED"
  | "SITE_ORIGIN_REQUIRED"
  | "BINDING_NOT_FOUND"
  | "VALIDATION_FAILED"
  /** Agent keys (docs/web-bot-auth.md): registration, key-bound passports, the key directory. */
  | "KEY_PROOF_REQUIRED"
  | "KEY_PROOF_INVALID"
  | "KEY_PROOF_REPLAYED"
  | "AGENT_KEY_UNSUPPORTED"
  | "AGENT_KEY_EXISTS"
  | "AGENT_KEY_LIMIT"
  | "AGENT_KEY_NOT_FOUND"
  | "AGENT_KEY_NOT_REGISTERED"
  | "DIRECTORY_SIGNATURE_INVALID"
  /** An HTTP error status whose body was not an error envelope (a proxy's 502 page, ...). */
  | "HTTP_ERROR";

/** A server code; unknown codes pass through as strings so new server codes never break a client. */
export type ApiErrorCode = KnownApiErrorCode | (string & {});

export class LimeApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly detail: Readonly<Record<string, unknown>>;
  /** Milliseconds the server asked us to wait (`Retry-After`), when it said so. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ApiErrorCode,
    message: string,
    status: number,
    detail: Record<string, unknown> = {},
    retryAfterMs?: number,
  ) {
    super(message);
    this.name = "LimeApiError";
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.retryAfterMs = retryAfterMs;
  }
}

export type SdkErrorCode =
  /** fetch itself failed (connection refused, reset, DNS, TLS). */
  | "SDK_NETWORK_ERROR"
  /** A per-attempt or overall deadline passed. */
  | "SDK_TIMEOUT"
  /** The caller's AbortSignal fired. */
  | "SDK_ABORTED"
  /** The server answered, but not with the protocol (not JSON, no envelope, missing fields). */
  | "SDK_INVALID_RESPONSE"
  /** The issuer cannot be reached now, and no JWKS was ever fetched or the cached one is past `maxStaleMs`. */
  | "SDK_JWKS_UNAVAILABLE"
  /** A signed request's agent key directory was never fetched (or is stale past `maxStaleMs`) and the issuer cannot be reached now. */
  | "SDK_KEY_DIRECTORY_UNAVAILABLE"
  /** The login request is no longer pending (already approved, delivered or expired). */
  | "SDK_LOGIN_NOT_PENDING"
  /** The server asked for a proof-of-work algorithm this SDK does not speak. */
  | "SDK_UNSUPPORTED_POW"
  /** The login request expired before an approval reached this site. */
  | "SDK_LOGIN_EXPIRED"
  /** A request presented no passport (no `Authorization`, or another scheme). */
  | "SDK_PASSPORT_MISSING"
  /** The client was stopped while a call was waiting on it. */
  | "SDK_STOPPED";

export class LimeSdkError extends Error {
  readonly code: SdkErrorCode;
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(
    code: SdkErrorCode,
    message: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LimeSdkError";
    this.code = code;
    this.detail = options?.detail ?? {};
  }
}
