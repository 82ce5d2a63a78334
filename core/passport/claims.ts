import { decodeBase64url } from "../encoding/base64url.ts";
import { PassportError } from "../errors.ts";

/** Explicit typing of passports (RFC 8725 §3.11), in the JWS `typ` header. */
export const PASSPORT_TYP = "passport+jwt";

/** `typ` of OAuth 2.0 JWT access tokens (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYP = "at+jwt";

/** Audience of site-login passports. */
export const SITE_LOGIN_AUDIENCE = "lime-site-login";

/** Default audience of self-service passports. */
export const DEFAULT_PASSPORT_AUDIENCE = "lime-passport";

/** Longest lifetime (exp − iat) of a site-login passport, in seconds. */
export const SITE_LOGIN_MAX_LIFETIME_SECONDS = 120;

/** The passport claim-set versions this library understands. */
export const PASSPORT_VERSION = 1;

/** Highest `owner_kyc_level`: 0 none, 1 email, 2 identity document, 3 enhanced. */
export const MAX_KYC_LEVEL = 3;

/** Highest `agent_reputation` (docs/passport-claims.md says what the score is made of). */
export const MAX_AGENT_REPUTATION = 100;

/** Longest string accepted for an identifier claim (`sub`, `jti`, `user_id`, ...). */
export const MAX_ID_LENGTH = 256;

/** Longest `agent_name`, in UTF-16 code units. */
export const MAX_AGENT_NAME_LENGTH = 128;

/** The claims every LIME JWT carries (RFC 7519 §4.1), whatever its profile. */
export interface JwtClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  iat: number;
  exp: number;
  jti: string;
  nbf?: number;
  [claim: string]: unknown;
}

/** A passport: an agent's identity, vouched for by its owner. See docs/passport-claims.md. */
export interface PassportClaims extends JwtClaims {
  /** The agent owner's user id. */
  user_id: string;
  /** 0 none, 1 email, 2 identity document, 3 enhanced. */
  owner_kyc_level: number;
  /** Display name of the agent. */
  agent_name: string;
  /** Version of this claim set; 1. */
  passport_version: number;
  /**
   * The names LIME's site SDK README tells integrators to read, beside ours:
   * `agent_id` equals `sub`, `user_kyc_level` equals `owner_kyc_level`.
   * Always issued by our server; optional here so a passport signed before
   * they were added still verifies.
   */
  agent_id?: string;
  user_kyc_level?: number;
  /** The agent's reputation, an integer 0–100, as of issuance. */
  agent_reputation?: number;
  /** Site login only: the login request this passport answers. */
  request_id?: string;
  /** Site login only: the site that created the request. */
  site_id?: string;
  /**
   * Key binding (RFC 7800 §3.1, `jkt` as RFC 9449 §6.1 defines it): the
   * RFC 7638 SHA-256 thumbprint of the agent key the passport is bound to.
   * A site accepts a bound passport only with a request signed by that key.
   */
  cnf?: { jkt: string };
}

/** What `verifyPassport` hands to the application. Times are NumericDate (seconds since the epoch). */
export interface PassportContext {
  agentId: string;
  ownerId: string;
  ownerKycLevel: number;
  agentName: string;
  passportVersion: number;
  /** `agent_reputation` (0–100), when the passport carries it. */
  agentReputation?: number;
  issuer: string;
  audience: string[];
  issuedAt: number;
  expiresAt: number;
  jwtId: string;
  requestId?: string;
  siteId?: string;
  /** `cnf.jkt`: the thumbprint of the agent key this passport is bound to, when it is bound. */
  boundKeyThumbprint?: string;
  /** Every verified claim, as signed. */
  claims: PassportClaims;
}

/** PASSPORT_MISSING_CLAIM naming the claim; shared by every claim profile. */
export function missing(name: string): PassportError {
  return new PassportError("PASSPORT_MISSING_CLAIM", `the "${name}" claim is required`);
}

/** PASSPORT_INVALID_CLAIM naming the claim and the rule it broke. */
export function invalid(name: string, why: string): PassportError {
  return new PassportError("PASSPORT_INVALID_CLAIM", `the "${name}" claim ${why}`);
}

function requireId(claims: Record<string, unknown>, name: string): string {
  const value = claims[name];
  if (value === undefined) throw missing(name);
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw invalid(name, `must be a string of 1 to ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

function optionalId(claims: Record<string, unknown>, name: string): string | undefined {
  return claims[name] === undefined ? undefined : requireId(claims, name);
}

export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * LIME's names for two of our claims must say the same thing, or a site
 * reading one name and a site reading the other would see two agents.
 */
function checkLimeAliases(claims: Record<string, unknown>): void {
  if (claims.agent_id !== undefined && claims.agent_id !== claims.sub) {
    throw invalid("agent_id", "must equal sub");
  }
  if (claims.user_kyc_level !== undefined && claims.user_kyc_level !== claims.owner_kyc_level) {
    throw invalid("user_kyc_level", "must equal owner_kyc_level");
  }
  const reputation = claims.agent_reputation;
  if (reputation !== undefined && !isIntegerIn(reputation, 0, MAX_AGENT_REPUTATION)) {
    throw invalid("agent_reputation", `must be an integer from 0 to ${MAX_AGENT_REPUTATION}`);
  }
}

/** A SHA-256 thumbprint in base64url: 32 bytes, 43 characters, canonical. */
const THUMBPRINT_LENGTH = 43;

/**
 * `cnf` (RFC 7800 §3.1) when present: an object holding exactly `jkt`, the
 * SHA-256 JWK thumbprint of the key the token is bound to (RFC 9449 §6.1).
 * Another confirmation method would be one this library cannot check, and a
 * binding a verifier silently ignored would be no binding, so it is refused.
 */
function checkConfirmation(claims: Record<string, unknown>): void {
  const cnf = claims.cnf;
  if (cnf === undefined) return;
  if (typeof cnf !== "object" || cnf === null || Array.isArray(cnf))
    throw invalid("cnf", "must be an object");
  const members = Object.keys(cnf);
  const jkt = (cnf as Record<string, unknown>).jkt;
  if (members.length !== 1 || typeof jkt !== "string") throw invalid("cnf", 'must hold exactly "jkt"');
  if (jkt.length !== THUMBPRINT_LENGTH || decodeBase64url(jkt)?.length !== 32) {
    throw invalid("cnf", '"jkt" must be a SHA-256 thumbprint in canonical base64url (43 characters)');
  }
}

/** RFC 7519 §2 NumericDate: seconds since the epoch; we also refuse negative and non-finite values. */
function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalid(name, "must be a NumericDate (non-negative seconds)");
  }
  return value;
}

function requireDate(claims: Record<string, unknown>, name: string): number {
  const value = numericDate(claims, name);
  if (value === undefined) throw missing(name);
  return value;
}

/** `aud` as a list (RFC 7519 §4.1.3: a string or an array of strings). */
function audienceList(claims: Record<string, unknown>): string[] {
  const aud = claims.aud;
  if (aud === undefined) throw missing("aud");
  if (typeof aud === "string" && aud.length > 0 && aud.length <= MAX_ID_LENGTH) return [aud];
  if (
    Array.isArray(aud) &&
    aud.length > 0 &&
    aud.every((item) => typeof item === "string" && item.length > 0 && item.length <= MAX_ID_LENGTH)
  ) {
    return aud as string[];
  }
  throw invalid("aud", "must be a non-empty string or a non-empty array of such strings");
}

/**
 * The shape of the registered claims every LIME JWT carries: `iss`, `sub`,
 * `aud`, `jti` strings, `iat` and `exp` NumericDates with exp > iat, `nbf`
 * optional. Time against a clock is checked by the verifier, not here.
 * Returns the claims and `aud` as a list.
 */
export function readJwtClaims(claims: Record<string, unknown>): { claims: JwtClaims; audience: string[] } {
  requireId(claims, "iss");
  requireId(claims, "sub");
  const audience = audienceList(claims);
  requireId(claims, "jti");
  const iat = requireDate(claims, "iat");
  const exp = requireDate(claims, "exp");
  numericDate(claims, "nbf");
  if (exp <= iat) throw invalid("exp", "must be after iat");
  return { claims: claims as JwtClaims, audience };
}

/** `readJwtClaims` for callers that only need the check. */
export function checkJwtClaims(claims: Record<string, unknown>): JwtClaims {
  return readJwtClaims(claims).claims;
}

/**
 * The passport profile on top of `readJwtClaims`: owner, KYC level, agent
 * name, claim-set version; LIME's aliases and `cnf` when present; and for
 * the site-login audience, `request_id`, `site_id` and a lifetime of at
 * most 120 s.
 */
export function readPassportClaims(claims: Record<string, unknown>): {
  claims: PassportClaims;
  audience: string[];
} {
  const { audience } = readJwtClaims(claims);
  requireId(claims, "user_id");
  const kyc = claims.owner_kyc_level;
  if (kyc === undefined) throw missing("owner_kyc_level");
  if (!isIntegerIn(kyc, 0, MAX_KYC_LEVEL)) {
    throw invalid("owner_kyc_level", `must be an integer from 0 to ${MAX_KYC_LEVEL}`);
  }
  const name = claims.agent_name;
  if (name === undefined) throw missing("agent_name");
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_AGENT_NAME_LENGTH) {
    throw invalid("agent_name", `must be a string of 1 to ${MAX_AGENT_NAME_LENGTH} characters`);
  }
  const version = claims.passport_version;
  if (version === undefined) throw missing("passport_version");
  if (version !== PASSPORT_VERSION) throw invalid("passport_version", `must be ${PASSPORT_VERSION}`);
  checkLimeAliases(claims);
  checkConfirmation(claims);
  const requestId = optionalId(claims, "request_id");
  const siteId = optionalId(claims, "site_id");
  if (audience.includes(SITE_LOGIN_AUDIENCE)) {
    if (requestId === undefined) throw missing("request_id");
    if (siteId === undefined) throw missing("site_id");
    if ((claims.exp as number) - (claims.iat as number) > SITE_LOGIN_MAX_LIFETIME_SECONDS) {
      throw invalid("exp", `must be at most ${SITE_LOGIN_MAX_LIFETIME_SECONDS} s after iat for site login`);
    }
  }
  return { claims: claims as PassportClaims, audience };
}

/** `readPassportClaims` for callers that only need the check (the signer). */
export function checkPassportClaims(claims: Record<string, unknown>): PassportClaims {
  return readPassportClaims(claims).claims;
}
