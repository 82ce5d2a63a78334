import { decodeBase64url } from "../encoding/base64url.ts";
import { PassportError } from "../errors.ts";
import type { JsonWebKeySet } from "../keys/jwks.ts";
import { createLocalJwks, LocalJwks } from "../keys/local-jwks.ts";
import { isPlainObject, RS256 } from "../keys/rsa-jwk.ts";
import {
  type JwtClaims,
  PASSPORT_TYP,
  type PassportClaims,
  type PassportContext,
  readJwtClaims,
  readPassportClaims,
  SITE_LOGIN_AUDIENCE,
} from "./claims.ts";

/** Default bound on a token's length, checked before anything is decoded. */
export const DEFAULT_MAX_TOKEN_BYTES = 8192;

/** Bounds a caller may choose for `maxTokenBytes`. */
export const MIN_MAX_TOKEN_BYTES = 512;
export const MAX_MAX_TOKEN_BYTES = 65536;

/** Largest `clockTolerance`, in seconds: beyond it a site-login passport (120 s) means little. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** A `now` above this is milliseconds passed where seconds were meant (it is the year 5138). */
const MAX_NOW_SECONDS = 1e11;

/** Keys to verify against: a JWKS document, or one prepared once with `createLocalJwks`. */
export type JwksInput = JsonWebKeySet | LocalJwks;

/** The protected header of a verified token. */
export interface JwsHeader {
  alg: "RS256";
  kid: string;
  typ?: string;
  [parameter: string]: unknown;
}

export interface VerifyJwsOptions {
  /** Longest accepted token, in bytes; default 8192, from 512 to 65536. */
  maxTokenBytes?: number;
  /** Expected `typ` header, compared as RFC 7515 §4.1.9 says; not checked when absent. */
  typ?: string;
}

export interface VerifyJwtOptions extends VerifyJwsOptions {
  /** Accepted issuer(s); the token's `iss` must be one of them. */
  issuer: string | readonly string[];
  /** Accepted audience(s); one of the token's `aud` values must be one of them. */
  audience: string | readonly string[];
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`; default 0, at most 300. */
  clockTolerance?: number;
  /** The current time in seconds since the epoch (NumericDate); default the system clock. */
  now?: number;
}

export interface VerifyPassportOptions extends VerifyJwtOptions {
  /** Site login: the login request the passport must answer (claim `request_id`). */
  requestId?: string;
  /** Site login: the site the passport must be for (claim `site_id`). */
  siteId?: string;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();

interface PreparedDocument {
  /** The document's `keys` array and its elements when it was prepared. */
  keys: unknown;
  members: readonly unknown[];
  local: LocalJwks;
}

/**
 * JWKS documents passed as plain objects, prepared once per document. A
 * document whose `keys` was replaced or changed in length or membership
 * since (a caller refreshing its key set in place, a compromised key
 * spliced out) is prepared again: a key removed from the document must
 * stop verifying at once. A key object edited member by member is not
 * noticed; replace the object or the array.
 */
const preparedDocuments = new WeakMap<object, PreparedDocument>();

function isUnchanged(prepared: PreparedDocument, keys: unknown): boolean {
  // Same array object as when prepared, so an array; now compare what it holds.
  if (prepared.keys !== keys) return false;
  const { members } = prepared;
  const list = keys as readonly unknown[];
  return list.length === members.length && list.every((key, index) => key === members[index]);
}

function malformed(message: string): PassportError {
  return new PassportError("PASSPORT_MALFORMED", message);
}

function invalidOption(message: string, cause?: unknown): PassportError {
  return new PassportError("PASSPORT_INVALID_OPTION", message, { cause });
}

function prepareJwks(jwks: unknown): LocalJwks {
  if (jwks instanceof LocalJwks) return jwks;
  if (typeof jwks !== "object" || jwks === null) {
    throw invalidOption("jwks must be a JWKS document or a LocalJwks");
  }
  const keys: unknown = Reflect.get(jwks, "keys");
  const prepared = preparedDocuments.get(jwks);
  if (prepared !== undefined && isUnchanged(prepared, keys)) return prepared.local;
  let local: LocalJwks;
  try {
    local = createLocalJwks(jwks);
  } catch (cause) {
    throw invalidOption(`the JWKS document was refused (${(cause as { code: string }).code})`, cause);
  }
  preparedDocuments.set(jwks, { keys, members: [...(keys as unknown[])], local });
  return local;
}

/** RFC 7515 §4.1.9: media types compare case-insensitively and "application/" may be omitted. */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith("application/") ? lower.slice(12) : lower;
}

function readNonEmptyString(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw invalidOption(`${name} must be a non-empty string`);
  }
  return value;
}

function readStringList(value: unknown, name: string): readonly string[] {
  if (typeof value === "string" && value.length > 0) return [value];
  if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((item) => typeof item === "string" && item.length > 0)
  ) {
    return value as string[];
  }
  throw invalidOption(`${name} must be a non-empty string or a non-empty array of them`);
}

function readNumber(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw invalidOption(`${name} must be a number from ${min} to ${max}`);
  }
  return value;
}

function readObject(options: unknown): Record<string, unknown> {
  if (!isPlainObject(options)) throw invalidOption("options must be an object");
  return options;
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(textDecoder.decode(bytes));
  } catch {
    throw malformed(`the ${what} is not UTF-8 JSON`);
  }
  if (!isPlainObject(value)) throw malformed(`the ${what} is not a JSON object`);
  return value;
}

interface StartedJws {
  header: JwsHeader;
  /** The payload segment's base64url, decoded by `decodePayload` once the signature check runs. */
  token: string;
  payloadStart: number;
  payloadEnd: number;
  /** The signature check: done on "node-crypto", already running on WebCrypto. */
  signatureValid: boolean | Promise<boolean>;
}

function decodePayload({ token, payloadStart, payloadEnd }: StartedJws): Uint8Array<ArrayBuffer> {
  const payload = decodeBase64url(token, payloadStart, payloadEnd);
  if (payload === undefined) throw malformed("the payload is not canonical base64url");
  return payload;
}

/**
 * Everything up to the signature, synchronously, then starts the signature
 * check without waiting for it (the caller decodes the payload meanwhile).
 * The order is fixed: type of input → length bound (before any decoding) →
 * three segments → header JSON → `alg` is exactly RS256 → no `crit`/`b64`
 * (RFC 7515 §4.1.11, RFC 7797) → `typ` → `kid` selects one key → RS256
 * verify (`node:crypto` or WebCrypto, as the key set's backend says).
 */
function startJws(token: unknown, jwks: unknown, maxTokenBytes: number, typ: string | undefined): StartedJws {
  const keys = prepareJwks(jwks);
  if (typeof token !== "string") throw malformed("the token must be a string");
  // A valid token is ASCII, so its length in UTF-16 units is its length in bytes.
  if (token.length > maxTokenBytes) {
    throw new PassportError("PASSPORT_TOO_LARGE", `the token exceeds ${maxTokenBytes} bytes`);
  }
  const dot1 = token.indexOf(".");
  const dot2 = dot1 === -1 ? -1 : token.indexOf(".", dot1 + 1);
  if (dot2 === -1 || token.indexOf(".", dot2 + 1) !== -1) throw malformed("a compact JWS has three segments");
  const headerBytes = decodeBase64url(token, 0, dot1);
  if (headerBytes === undefined) throw malformed("the header is not canonical base64url");
  const header = parseJsonObject(headerBytes, "header");
  if (header.alg !== RS256) throw new PassportError("PASSPORT_ALG_NOT_ALLOWED", "only RS256 is accepted");
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new PassportError("PASSPORT_CRIT_UNSUPPORTED", "crit and b64 header parameters are not supported");
  }
  if (typ !== undefined && (typeof header.typ !== "string" || normalizeTyp(header.typ) !== typ)) {
    throw new PassportError("PASSPORT_WRONG_TYPE", "the token's typ is not the expected one");
  }
  const kid = header.kid;
  if (typeof kid !== "string" || kid.length === 0) throw malformed("the header must name its key (kid)");
  const signature = decodeBase64url(token, dot2 + 1);
  if (signature === undefined || signature.length === 0) {
    throw malformed("the signature is not canonical base64url");
  }
  const verifier = keys.verifier(kid);
  const signingInput = textEncoder.encode(token.slice(0, dot2));
  const signatureValid =
    verifier instanceof Promise
      ? verifier.then((ready) => ready.verify(signature, signingInput))
      : verifier.verify(signature, signingInput);
  return { header: header as JwsHeader, token, payloadStart: dot1 + 1, payloadEnd: dot2, signatureValid };
}

function readTyp(value: unknown): string | undefined {
  return value === undefined ? undefined : normalizeTyp(readNonEmptyString(value, "typ"));
}

function readMaxTokenBytes(value: unknown): number {
  return readNumber(
    value,
    "maxTokenBytes",
    DEFAULT_MAX_TOKEN_BYTES,
    MIN_MAX_TOKEN_BYTES,
    MAX_MAX_TOKEN_BYTES,
  );
}

const badSignature = () => new PassportError("PASSPORT_BAD_SIGNATURE", "the signature does not verify");

/**
 * Verifies an RS256 compact JWS against local keys and returns its header and
 * payload bytes. The lowest layer: no claims are read (see `startJws` for the
 * order of checks). Header parameters naming keys (`jwk`, `jku`, `x5u`,
 * `x5c`) are ignored: keys come from the JWKS only.
 *
 * @example
 * const { header, payload } = await verifyJws(token, jwks);
 */
export async function verifyJws(
  token: string,
  jwks: JwksInput,
  options: VerifyJwsOptions = {},
): Promise<{ header: JwsHeader; payload: Uint8Array<ArrayBuffer> }> {
  const opts = readObject(options);
  const started = startJws(token, jwks, readMaxTokenBytes(opts.maxTokenBytes), readTyp(opts.typ));
  if (!(await started.signatureValid)) throw badSignature();
  return { header: started.header, payload: decodePayload(started) };
}

interface ClaimPolicy {
  issuers: readonly string[];
  audiences: readonly string[];
  clockTolerance: number;
  now: number;
}

function readClaimPolicy(opts: Record<string, unknown>): ClaimPolicy {
  return {
    issuers: readStringList(opts.issuer, "issuer"),
    audiences: readStringList(opts.audience, "audience"),
    clockTolerance: readNumber(opts.clockTolerance, "clockTolerance", 0, 0, MAX_CLOCK_TOLERANCE_SECONDS),
    now: readNumber(opts.now, "now (seconds)", Date.now() / 1000, 0, MAX_NOW_SECONDS),
  };
}

/** RFC 7519 §4.1.1–4.1.6 against the caller's issuer, audience and clock. */
function checkClaimPolicy(claims: JwtClaims, audience: readonly string[], policy: ClaimPolicy): void {
  if (!policy.issuers.includes(claims.iss)) {
    throw new PassportError("PASSPORT_WRONG_ISSUER", "unexpected issuer");
  }
  if (!audience.some((aud) => policy.audiences.includes(aud))) {
    throw new PassportError("PASSPORT_WRONG_AUDIENCE", "the token is not for this audience");
  }
  const { now, clockTolerance } = policy;
  if (claims.exp <= now - clockTolerance) {
    throw new PassportError("PASSPORT_EXPIRED", "the token has expired");
  }
  if (claims.nbf !== undefined && claims.nbf > now + clockTolerance) {
    throw new PassportError("PASSPORT_NOT_YET_VALID", "the token is not valid yet (nbf)");
  }
  if (claims.iat > now + clockTolerance) {
    throw new PassportError("PASSPORT_NOT_YET_VALID", "the token is issued in the future");
  }
}

/**
 * The JWS, then the claims. A bad signature always wins: nothing about the
 * claims of an unauthenticated token is reported. On "node-crypto" the
 * signature is already checked when `startJws` returns, so a forged token
 * is refused before its payload is even decoded.
 */
function verifyThenCheck<T>(
  token: unknown,
  jwks: unknown,
  opts: Record<string, unknown>,
  typ: string | undefined,
  check: (claims: Record<string, unknown>, header: JwsHeader) => T,
): T | Promise<T> {
  const started = startJws(token, jwks, readMaxTokenBytes(opts.maxTokenBytes), typ);
  if (typeof started.signatureValid === "boolean") {
    if (!started.signatureValid) throw badSignature();
    return check(parseJsonObject(decodePayload(started), "payload"), started.header);
  }
  return checkWhileVerifying(started, started.signatureValid, check);
}

/**
 * Runs the claim checks while WebCrypto checks the signature on its own
 * thread (the claims then cost nothing on the wall clock), and answers only
 * once the signature is known.
 */
async function checkWhileVerifying<T>(
  started: StartedJws,
  signatureValid: Promise<boolean>,
  check: (claims: Record<string, unknown>, header: JwsHeader) => T,
): Promise<T> {
  let result: T | undefined;
  let failure: unknown;
  try {
    result = check(parseJsonObject(decodePayload(started), "payload"), started.header);
  } catch (error) {
    failure = error;
  }
  if (!(await signatureValid)) throw badSignature();
  if (failure !== undefined) throw failure;
  return result as T;
}

/**
 * Verifies any LIME JWT profile (passport, OAuth access token, ...): the JWS
 * as `verifyJws` does, then the registered claims, all required: `iss` one of
 * `issuer`, `aud` meeting `audience`, `sub`, `jti`, `iat` not in the future,
 * `exp` in the future, `nbf` if present (RFC 7519 §4.1). Profile claims are
 * returned unchecked; `verifyPassport` checks the passport profile.
 *
 * @example
 * const { claims } = await verifyJwt(accessToken, jwks, { issuer, audience: resourceUrl, typ: "at+jwt" });
 */
export async function verifyJwt(
  token: string,
  jwks: JwksInput,
  options: VerifyJwtOptions,
): Promise<{ header: JwsHeader; claims: JwtClaims }> {
  const opts = readObject(options);
  const policy = readClaimPolicy(opts);
  return verifyThenCheck(token, jwks, opts, readTyp(opts.typ), (raw, header) => {
    const { claims, audience } = readJwtClaims(raw);
    checkClaimPolicy(claims, audience, policy);
    return { header, claims };
  });
}

/** A site-login binding: when the caller names the request or site, the claim must be there and equal. */
function checkBinding(
  claim: string | undefined,
  expected: string | undefined,
  name: string,
  code: "PASSPORT_WRONG_REQUEST" | "PASSPORT_WRONG_SITE",
): void {
  if (expected === undefined) return;
  if (claim === undefined) {
    throw new PassportError("PASSPORT_MISSING_CLAIM", `the "${name}" claim is required`);
  }
  if (claim !== expected) throw new PassportError(code, `the passport's ${name} is not the expected one`);
}

function readBinding(value: unknown, name: string): string | undefined {
  return value === undefined ? undefined : readNonEmptyString(value, name);
}

/**
 * Verifies a passport and returns who it speaks for. On top of `verifyJwt`:
 * `typ` must be "passport+jwt" (unless `typ` says otherwise), the passport
 * claims must be complete (docs/passport-claims.md), and `request_id` /
 * `site_id` must equal `requestId` / `siteId` when given. Verifying for the
 * site-login audience requires both, so a login passport cannot be
 * replayed into another request or site.
 *
 * @example
 * const passport = await verifyPassport(token, jwks, {
 *   issuer: "https://lime.example", audience: "lime-site-login", requestId, siteId,
 * });
 * passport.agentId; passport.ownerKycLevel;
 */
export async function verifyPassport(
  token: string,
  jwks: JwksInput,
  options: VerifyPassportOptions,
): Promise<PassportContext> {
  const opts = readObject(options);
  const requestId = readBinding(opts.requestId, "requestId");
  const siteId = readBinding(opts.siteId, "siteId");
  const policy = readClaimPolicy(opts);
  if (policy.audiences.includes(SITE_LOGIN_AUDIENCE) && (requestId === undefined || siteId === undefined)) {
    throw invalidOption("verifying a site-login passport needs requestId and siteId");
  }
  const typ = opts.typ === undefined ? PASSPORT_TYP : readTyp(opts.typ);
  return verifyThenCheck(token, jwks, opts, typ, (raw) => {
    const { claims, audience } = readPassportClaims(raw);
    checkClaimPolicy(claims, audience, policy);
    checkBinding(claims.request_id, requestId, "request_id", "PASSPORT_WRONG_REQUEST");
    checkBinding(claims.site_id, siteId, "site_id", "PASSPORT_WRONG_SITE");
    return toContext(claims, audience);
  });
}

function toContext(claims: PassportClaims, audience: string[]): PassportContext {
  const context: PassportContext = {
    agentId: claims.sub,
    ownerId: claims.user_id,
    ownerKycLevel: claims.owner_kyc_level,
    agentName: claims.agent_name,
    passportVersion: claims.passport_version,
    issuer: claims.iss,
    audience,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
    jwtId: claims.jti,
    claims,
  };
  if (claims.agent_reputation !== undefined) context.agentReputation = claims.agent_reputation;
  if (claims.request_id !== undefined) context.requestId = claims.request_id;
  if (claims.site_id !== undefined) context.siteId = claims.site_id;
  if (claims.cnf !== undefined) context.boundKeyThumbprint = claims.cnf.jkt;
  return context;
}
