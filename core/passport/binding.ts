/**
 * The Agent Binding passport: what a site receives (in the browser's
 * redirect, `?passport=<JWT>`) once a user picked one of their agents for it
 * on LIME's hosted connect page. A claim profile of its own, not a passport
 * for `verifyPassport`: it names the binding request and the site, carries
 * the owner's KYC level and the agent's reputation, and lives at most 60 s.
 *
 * LIME's `lime-sites-sdk` 2.0 `verify_binding_passport` checks RS256 by
 * `kid`, `aud == "lime-binding"` (a string), numeric `exp`/`iat`,
 * `exp > now`, `exp - iat <= 60` and a non-blank string `binding_id`; the
 * checks here are those and more (issuer, `typ`, the whole claim set). See
 * docs/passport-claims.md for the profile and its JSON Schema.
 */

import { PassportError } from "../errors.ts";
import { isPlainObject } from "../keys/rsa-jwk.ts";
import type { SigningKey } from "../keys/signing-key.ts";
import {
  checkJwtClaims,
  invalid,
  isIntegerIn,
  type JwtClaims,
  MAX_ID_LENGTH,
  MAX_KYC_LEVEL,
  missing,
} from "./claims.ts";
import { signJwt } from "./sign.ts";
import { type JwksInput, type VerifyJwtOptions, verifyJwt } from "./verify.ts";

/** Audience of binding passports, as LIME's site SDK compares it: exactly this string. */
export const BINDING_AUDIENCE = "lime-binding";

/**
 * `typ` of binding passports (RFC 8725 §3.11): its own media type, so a
 * binding passport is never taken for a passport (`passport+jwt`) or an
 * access token (`at+jwt`), and neither of those for a binding passport.
 * LIME's Python SDK ignores `typ`.
 */
export const BINDING_PASSPORT_TYP = "binding+jwt";

/** Longest lifetime (exp − iat) of a binding passport, in seconds (LIME's `_BINDING_MAX_TTL_SECONDS`). */
export const BINDING_MAX_LIFETIME_SECONDS = 60;

/** The binding claim-set versions this library understands. */
export const BINDING_PASSPORT_VERSION = 1;

/** The claims of a binding passport. See docs/passport-claims.md. */
export interface BindingPassportClaims extends JwtClaims {
  /** Always the single string "lime-binding" (LIME's SDK refuses an array). */
  aud: string;
  /** The binding request the user completed. */
  binding_id: string;
  /** The agent, again: LIME's SDK renames `sub` to `agent_id` unless `agent_id` is there. Equals `sub`. */
  agent_id: string;
  /** The agent owner's user id (the user who picked the agent). */
  user_id: string;
  /** The site that created the binding request. */
  site_id: string;
  /** The owner's KYC level: 0 none, 1 email, 2 identity document, 3 enhanced. */
  user_kyc_level: number;
  /** The agent's reputation score as LIME keeps it. */
  agent_reputation: number;
  /** Version of this claim set; 1. */
  passport_version: number;
}

/** What `verifyBindingPassport` hands to the site. Times are NumericDate (seconds since the epoch). */
export interface BindingPassportContext {
  bindingId: string;
  agentId: string;
  ownerId: string;
  siteId: string;
  ownerKycLevel: number;
  agentReputation: number;
  passportVersion: number;
  issuer: string;
  issuedAt: number;
  expiresAt: number;
  jwtId: string;
  /** Every verified claim, as signed. */
  claims: BindingPassportClaims;
}

export interface VerifyBindingPassportOptions extends Omit<VerifyJwtOptions, "audience"> {
  /** The binding request the passport must answer (claim `binding_id`). */
  bindingId?: string;
  /** The site the passport must be for (claim `site_id`). */
  siteId?: string;
}

function requireId(claims: Record<string, unknown>, name: string): string {
  const value = claims[name];
  if (value === undefined) throw missing(name);
  // Blank counts as absent: LIME's SDK refuses a `binding_id` that `.strip()` empties.
  if (typeof value !== "string" || value.trim() === "" || value.length > MAX_ID_LENGTH) {
    throw invalid(name, `must be a non-blank string of at most ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

/**
 * The registered claims (`checkJwtClaims`), then the binding profile:
 * `aud` exactly the string "lime-binding", a lifetime of at most
 * 60 s, the ids, `agent_id` equal to `sub`, the KYC level, the reputation
 * and the claim-set version.
 */
export function checkBindingClaims(claims: Record<string, unknown>): BindingPassportClaims {
  const { iat, exp } = checkJwtClaims(claims);
  if (claims.aud !== BINDING_AUDIENCE) throw invalid("aud", `must be the string "${BINDING_AUDIENCE}"`);
  if (exp - iat > BINDING_MAX_LIFETIME_SECONDS) {
    throw invalid("exp", `must be at most ${BINDING_MAX_LIFETIME_SECONDS} s after iat for a binding`);
  }
  requireId(claims, "binding_id");
  if (requireId(claims, "agent_id") !== claims.sub) throw invalid("agent_id", "must equal sub");
  requireId(claims, "user_id");
  requireId(claims, "site_id");
  const kyc = claims.user_kyc_level;
  if (kyc === undefined) throw missing("user_kyc_level");
  if (!isIntegerIn(kyc, 0, MAX_KYC_LEVEL)) {
    throw invalid("user_kyc_level", `must be an integer from 0 to ${MAX_KYC_LEVEL}`);
  }
  const reputation = claims.agent_reputation;
  if (reputation === undefined) throw missing("agent_reputation");
  if (typeof reputation !== "number" || !Number.isFinite(reputation)) {
    throw invalid("agent_reputation", "must be a finite number");
  }
  const version = claims.passport_version;
  if (version === undefined) throw missing("passport_version");
  if (version !== BINDING_PASSPORT_VERSION) {
    throw invalid("passport_version", `must be ${BINDING_PASSPORT_VERSION}`);
  }
  return claims as BindingPassportClaims;
}

/**
 * Signs a binding passport: the registered claims and the binding profile
 * are checked on the JSON that is signed; header `{ alg: "RS256", typ:
 * "binding+jwt", kid }`.
 *
 * @example
 * const jwt = await signBindingPassport({ iss, sub: agentId, aud: "lime-binding", iat, exp: iat + 60, jti,
 *   binding_id, agent_id: agentId, user_id, site_id, user_kyc_level: 1, agent_reputation: 0, passport_version: 1 }, key);
 */
export async function signBindingPassport(claims: BindingPassportClaims, key: SigningKey): Promise<string> {
  let plain: unknown;
  try {
    plain = JSON.parse(JSON.stringify(claims));
  } catch (cause) {
    throw new PassportError("PASSPORT_INVALID_CLAIM", "claims are not serializable as JSON", { cause });
  }
  if (!isPlainObject(plain))
    throw new PassportError("PASSPORT_INVALID_CLAIM", "claims must be a JSON object");
  // What is checked is what is signed: the JSON copy, not the caller's object.
  return signJwt(checkBindingClaims(plain), key, { typ: BINDING_PASSPORT_TYP });
}

function readExpected(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new PassportError("PASSPORT_INVALID_OPTION", `${name} must be a non-empty string`);
  }
  return value;
}

/**
 * Verifies a binding passport and returns the binding it completes. In
 * order: everything `verifyJwt` checks (size, form, RS256, `typ` =
 * "binding+jwt", `kid`, signature, registered claims, `iss`, `aud`
 * "lime-binding", the clock), then the binding profile, then `binding_id` /
 * `site_id` against `bindingId` / `siteId` when given
 * (`PASSPORT_WRONG_BINDING`, `PASSPORT_WRONG_SITE`).
 *
 * @example
 * const binding = await verifyBindingPassport(jwt, jwks, { issuer: "https://lime.example", siteId, bindingId });
 * binding.agentId; binding.ownerKycLevel;
 */
export async function verifyBindingPassport(
  token: string,
  jwks: JwksInput,
  options: VerifyBindingPassportOptions,
): Promise<BindingPassportContext> {
  if (!isPlainObject(options))
    throw new PassportError("PASSPORT_INVALID_OPTION", "options must be an object");
  const bindingId = readExpected(options.bindingId, "bindingId");
  const siteId = readExpected(options.siteId, "siteId");
  const { claims: raw } = await verifyJwt(token, jwks, {
    ...options,
    typ: options.typ ?? BINDING_PASSPORT_TYP,
    audience: BINDING_AUDIENCE,
  });
  const claims = checkBindingClaims(raw);
  if (bindingId !== undefined && claims.binding_id !== bindingId) {
    throw new PassportError("PASSPORT_WRONG_BINDING", "the passport's binding_id is not the expected one");
  }
  if (siteId !== undefined && claims.site_id !== siteId) {
    throw new PassportError("PASSPORT_WRONG_SITE", "the passport's site_id is not the expected one");
  }
  return {
    bindingId: claims.binding_id,
    agentId: claims.sub,
    ownerId: claims.user_id,
    siteId: claims.site_id,
    ownerKycLevel: claims.user_kyc_level,
    agentReputation: claims.agent_reputation,
    passportVersion: claims.passport_version,
    issuer: claims.iss,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
    jwtId: claims.jti,
    claims,
  };
}
