/**
 * Passport issuance: RS256 JWTs signed with the ring's CURRENT key, typed
 * `passport+jwt` (RFC 8725 §3.11), claims as in docs/passport-claims.md. A
 * passport asked for with a key proof is bound to that agent key: `cnf`
 * `{jkt}` (RFC 7800 §3.1, the thumbprint member of RFC 9449 §6.1), which
 * sites check against the key of the request's signature (docs/agent-keys.md).
 */

import {
  DEFAULT_PASSPORT_AUDIENCE,
  PASSPORT_VERSION,
  type PassportClaims,
  SITE_LOGIN_AUDIENCE,
  signPassport,
} from "@lime-ts/core/passport";
import type { Clock } from "../../clock.ts";
import type { Lifetimes } from "../../config.ts";
import { DomainError } from "../../errors.ts";
import type { AuditEntry, AuditRecorder } from "../../foundation/audit/service.ts";
import type { Metrics, PassportKind } from "../../observability/metrics.ts";
import type { AuthenticatedAgent } from "../agents/service.ts";
import type { KeyRing } from "../keys/service.ts";

export interface PassportDeps {
  clock: Clock;
  keyRing: KeyRing;
  issuer: string;
  lifetimes: Pick<Lifetimes, "siteLoginPassportMs" | "passportMs">;
  audit: AuditRecorder;
  /** Counts signed passports by kind; none when absent. */
  metrics?: Pick<Metrics, "passportIssued" | "boundPassportIssued">;
}

/** The agent key a passport is bound to (server/modules/agent-keys/binding.ts). */
export interface KeyBinding {
  /** The key's RFC 7638 thumbprint. */
  jkt: string;
}

export interface IssuedPassport {
  jwt: string;
  jti: string;
  audience: string;
  issuedAt: number;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

async function issue(
  deps: PassportDeps,
  { agent, owner }: AuthenticatedAgent,
  audience: string,
  lifetimeMs: number,
  extra: Pick<PassportClaims, "request_id" | "site_id">,
  kind: PassportKind,
  binding: KeyBinding | null,
): Promise<IssuedPassport> {
  const iat = Math.floor(deps.clock.now() / 1000);
  const exp = iat + Math.floor(lifetimeMs / 1000);
  const jti = crypto.randomUUID();
  const claims: PassportClaims = {
    iss: deps.issuer,
    sub: agent.id,
    aud: audience,
    iat,
    exp,
    jti,
    user_id: owner.id,
    owner_kyc_level: owner.kycLevel,
    agent_name: agent.displayName,
    passport_version: PASSPORT_VERSION,
    // LIME's site SDK README has integrators read these names; ours above stay for our verifiers.
    agent_id: agent.id,
    user_kyc_level: owner.kycLevel,
    // The value kept on the agent row, read with it when the token was checked: no query at issuance.
    agent_reputation: agent.reputation,
    ...extra,
    ...(binding !== null && { cnf: { jkt: binding.jkt } }),
  };
  const jwt = await signPassport(claims, deps.keyRing.current());
  deps.metrics?.passportIssued(kind);
  if (binding !== null) deps.metrics?.boundPassportIssued(kind);
  return { jwt, jti, audience, issuedAt: iat * 1000, expiresAt: exp * 1000 };
}

/** The passport an approved login hands to the site: `aud` "lime-site-login", at most 120 s. */
export async function issueSiteLoginPassport(
  deps: PassportDeps,
  agent: AuthenticatedAgent,
  login: { requestId: string; siteId: string },
  binding: KeyBinding | null = null,
): Promise<IssuedPassport> {
  return issue(
    deps,
    agent,
    SITE_LOGIN_AUDIENCE,
    deps.lifetimes.siteLoginPassportMs,
    { request_id: login.requestId, site_id: login.siteId },
    "site_login",
    binding,
  );
}

/**
 * Audiences an agent may not ask for itself: the site-login audience would
 * let it skip the PoW login, and other `lime-` names are kept for our own
 * profiles.
 */
export function isReservedAudience(audience: string): boolean {
  return audience !== DEFAULT_PASSPORT_AUDIENCE && audience.toLowerCase().startsWith("lime-");
}

/** The audience a self-service passport gets: AUDIENCE_RESERVED for the names kept for our own profiles. */
export function selfServiceAudience(requestedAudience: string | undefined): string {
  const audience = requestedAudience?.trim() || DEFAULT_PASSPORT_AUDIENCE;
  if (isReservedAudience(audience)) {
    throw new DomainError("AUDIENCE_RESERVED", "This audience is reserved.", { field: "audience" });
  }
  return audience;
}

/** `POST /api/v1/core/passports`: a passport the agent carries to any site, bound to a key when `binding` is given. */
export async function issueSelfServicePassport(
  deps: PassportDeps,
  agent: AuthenticatedAgent,
  requestedAudience: string | undefined,
  ip: string,
  binding: KeyBinding | null = null,
): Promise<IssuedPassport> {
  const audience = selfServiceAudience(requestedAudience);
  const passport = await issue(deps, agent, audience, deps.lifetimes.passportMs, {}, "self_service", binding);
  await deps.audit(passportIssued(agent, passport, "self_service", ip));
  return passport;
}

/** The audit entry for a passport issued to `agent`, in its owner's trail; `reason` names the route that asked. */
export function passportIssued(
  agent: AuthenticatedAgent,
  passport: IssuedPassport,
  reason: "self_service" | "site_login",
  ip: string,
): AuditEntry {
  return {
    ownerId: agent.owner.id,
    actorType: "agent",
    actorId: agent.agent.id,
    action: "passport.issued",
    targetType: "passport",
    targetId: passport.jti,
    reason,
    ip,
  };
}
