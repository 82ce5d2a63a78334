/**
 * Typed errors of the portable core.
 *
 * Every failure a caller can act on carries a stable `code` from one of the
 * unions below, so callers `switch (err.code)` instead of parsing messages.
 * Messages are for humans and never contain a token, a key or a secret.
 * No HTTP status lives here: the server's error boundary maps codes to
 * statuses.
 *
 * @example
 * try { await verifyPassport(token, jwks, opts) }
 * catch (err) { if (err instanceof PassportError && err.code === "PASSPORT_EXPIRED") renew() }
 */

/** Codes raised by the proof-of-work functions (`solve`, `verify`, challenge helpers). */
export type PowErrorCode =
  | "POW_INVALID_CHALLENGE"
  | "POW_INVALID_DIFFICULTY"
  | "POW_INVALID_NONCE"
  | "POW_INVALID_OPTION"
  | "POW_ABORTED"
  | "POW_EXHAUSTED"
  | "POW_WASM_UNAVAILABLE"
  | "POW_WORKER_FAILED"
  | "POW_SOLVER_CLOSED";

/** Codes raised when a passport (JWT) is refused or cannot be produced. */
export type PassportErrorCode =
  | "PASSPORT_MALFORMED"
  | "PASSPORT_TOO_LARGE"
  | "PASSPORT_ALG_NOT_ALLOWED"
  | "PASSPORT_CRIT_UNSUPPORTED"
  | "PASSPORT_BAD_SIGNATURE"
  | "PASSPORT_UNKNOWN_KID"
  | "PASSPORT_AMBIGUOUS_KID"
  | "PASSPORT_EXPIRED"
  | "PASSPORT_NOT_YET_VALID"
  | "PASSPORT_WRONG_ISSUER"
  | "PASSPORT_WRONG_AUDIENCE"
  | "PASSPORT_WRONG_REQUEST"
  | "PASSPORT_WRONG_SITE"
  | "PASSPORT_WRONG_BINDING"
  | "PASSPORT_MISSING_CLAIM"
  | "PASSPORT_INVALID_CLAIM"
  | "PASSPORT_INVALID_OPTION"
  | "PASSPORT_WRONG_TYPE"
  /** The issuer revoked it before its `exp`: agent revoked, agent token rotated, binding revoked (docs/revocation.md). */
  | "PASSPORT_REVOKED";

/** Codes raised by key generation, import and key-set handling. */
export type KeyErrorCode =
  | "KEY_INVALID"
  | "KEY_TOO_SMALL"
  | "KEY_UNSUPPORTED"
  | "KEY_PRIVATE_MATERIAL"
  | "JWKS_MALFORMED"
  | "JWKS_DUPLICATE_KID"
  | "KEY_WEAK"
  | "KEY_NOT_EXTRACTABLE"
  | "KEY_INVALID_OPTION";

/**
 * Codes raised by HTTP message signatures (RFC 9421) and key proofs
 * (RFC 9449 format). The site SDK raises the policy codes (`INCOMPLETE`,
 * `KEY_UNKNOWN`, `KEY_NOT_BOUND`, `EXPIRED`, `NOT_YET_VALID`, `REPLAYED`,
 * `AGENT_UNTRUSTED`); the core raises the others.
 */
export type SignatureErrorCode =
  /** No signature, or none with the tag asked for. */
  | "SIGNATURE_MISSING"
  /** `Signature-Input` / `Signature` are not the strict structured fields we accept. */
  | "SIGNATURE_MALFORMED"
  /** The signature does not cover the components the verifier requires. */
  | "SIGNATURE_INCOMPLETE"
  /** The signature does not verify over this message (or a covered component is absent). */
  | "SIGNATURE_INVALID"
  /** An algorithm, derived component or component parameter this library does not implement. */
  | "SIGNATURE_UNSUPPORTED"
  /** A header longer than allowed, or more members than allowed. */
  | "SIGNATURE_TOO_LARGE"
  | "SIGNATURE_KEY_UNKNOWN"
  | "SIGNATURE_KEY_NOT_BOUND"
  | "SIGNATURE_EXPIRED"
  | "SIGNATURE_NOT_YET_VALID"
  | "SIGNATURE_REPLAYED"
  | "SIGNATURE_AGENT_UNTRUSTED"
  /** A proof of possession (DPoP-format JWS) refused; the message says which check failed. */
  | "KEY_PROOF_INVALID";

export type LimeErrorCode = PowErrorCode | PassportErrorCode | KeyErrorCode | SignatureErrorCode;

/** Base class: every error the core throws on purpose is a `LimeError`. */
export class LimeError<C extends LimeErrorCode = LimeErrorCode> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class PowError extends LimeError<PowErrorCode> {}
export class PassportError extends LimeError<PassportErrorCode> {}
export class KeyError extends LimeError<KeyErrorCode> {}
export class SignatureError extends LimeError<SignatureErrorCode> {}

/**
 * True when `value` is a core error, even one thrown by another bundled copy
 * of the core (an SDK bundle and an app bundle each carry their own classes,
 * so `instanceof` alone would say no).
 */
export function isLimeError(value: unknown): value is LimeError {
  if (value instanceof LimeError) return true;
  if (!(value instanceof Error)) return false;
  const code: unknown = Reflect.get(value, "code");
  return typeof code === "string" && /^(POW|PASSPORT|KEY|JWKS|SIGNATURE)_[A-Z_]+$/.test(code);
}
