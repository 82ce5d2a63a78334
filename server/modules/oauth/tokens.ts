/**
 * The token endpoint's grants and the tokens they mint.
 *
 * Access tokens are RS256 JWTs in the shape of RFC 9068 (`typ: at+jwt`;
 * `iss`, `sub`, `aud`, `iat`, `exp`, `jti`, `client_id`, `scope`), signed by
 * the same key ring as passports and carrying the same issuer, so one JWKS
 * verifies both. `aud` is the resource the token was asked for (RFC 8707);
 * LIME's domain form adds "mcp" for LIME's resource-server SDK. Every issued
 * `jti` is recorded, so introspection can report revocation.
 *
 * Refresh tokens are opaque, stored as SHA-256 and rotated on every use
 * (OAuth 2.1 §4.3.1); presenting a rotated one revokes its whole grant, as
 * does replaying an authorization code.
 *
 * The order of checks in the code exchange is fixed: client → code found →
 * code consumed atomically (a second use revokes the grant) → unexpired →
 * issued to this client → same redirect URI → PKCE S256 → resource → subject
 * still active (an agent: with the agent token it approved with; its owner
 * still at the KYC minimum) → resource still registered as when the grant
 * was made → tokens.
 */

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ACCESS_TOKEN_TYP, signJwt } from "@lime-ts/core/passport";
import { hashSecret } from "../../infrastructure/crypto/secrets.ts";
import { type OAuthClient, setUpWithCurrentAgentToken } from "./clients.ts";
import type { LimeDomainTokenResponse, TokenParam, TokenResponse } from "./contract.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAuthEnvelopeError, OAuthError } from "./errors.ts";
import type { OAuthParams } from "./params.ts";
import { parseScope } from "./registration.ts";
import {
  canonicalResource,
  domainAudience,
  grantScopes,
  lookupResource,
  resourcesForDomain,
} from "./resources.ts";
import type { GrantRecord, SubjectType } from "./store.ts";

/** The audience LIME's `lime-mcp-server-sdk` requires (`aud` must contain it). */
export const LIME_MCP_AUDIENCE = "mcp";

export type { TokenResponse } from "./contract.ts";

interface AccessTokenInput {
  subjectType: SubjectType;
  subjectId: string;
  clientId: string;
  audience: string[];
  scopes: string[];
  grantId: string | null;
  /**
   * LIME's headless tokens only: the MCP server's host name, which
   * `lime-mcp-server-sdk` 1.x pins (claim `domain`: lowercase, no port).
   */
  domain?: string;
}

/** Signs and records one access token. */
export async function mintAccessToken(
  deps: OAuthDeps,
  input: AccessTokenInput,
): Promise<{ jwt: string; jti: string; expiresIn: number }> {
  const iat = Math.floor(deps.clock.now() / 1000);
  const expiresIn = Math.floor(deps.config.accessTokenMs / 1000);
  const jti = crypto.randomUUID();
  const claims = {
    iss: deps.issuer,
    sub: input.subjectId,
    aud: input.audience.length === 1 ? input.audience[0]! : input.audience,
    iat,
    exp: iat + expiresIn,
    jti,
    client_id: input.clientId,
    ...(input.scopes.length > 0 ? { scope: input.scopes.join(" ") } : {}),
    lime_principal: input.subjectType,
    ...(input.domain !== undefined ? { domain: input.domain } : {}),
  };
  const jwt = await signJwt(claims, deps.keyRing.current(), { typ: ACCESS_TOKEN_TYP });
  await deps.stores.tokens.recordAccessToken({
    jti,
    grantId: input.grantId,
    clientId: input.clientId,
    subjectType: input.subjectType,
    subjectId: input.subjectId,
    audience: input.audience,
    scopes: input.scopes,
    issuedAt: iat * 1000,
    expiresAt: (iat + expiresIn) * 1000,
    revokedAt: null,
  });
  return { jwt, jti, expiresIn };
}

async function issueRefreshToken(deps: OAuthDeps, grantId: string): Promise<string> {
  const token = `lime_rt_${randomBytes(32).toString("base64url")}`;
  const now = deps.clock.now();
  await deps.stores.tokens.createRefreshToken({
    tokenHash: hashSecret(token),
    grantId,
    status: "ACTIVE",
    createdAt: now,
    expiresAt: now + deps.config.refreshTokenMs,
  });
  return token;
}

/** Whether the identity behind a grant or token still stands (a revoked agent does not). */
export async function subjectActive(deps: OAuthDeps, type: SubjectType, id: string): Promise<boolean> {
  if (type === "agent") {
    const agent = await deps.agents.agents.findById(id);
    return agent !== null && agent.status === "ACTIVE";
  }
  return (await deps.users.users.findById(id)) !== null;
}

/** Whether an agent's owner meets OAUTH_MIN_OWNER_KYC_LEVEL now: checked at every mint, not once at approval. */
async function ownerMeetsKycMinimum(deps: OAuthDeps, agentId: string): Promise<boolean> {
  const agent = await deps.agents.agents.findById(agentId);
  const owner = agent === null ? null : await deps.users.users.findById(agent.ownerId);
  return owner !== null && owner.kycLevel >= deps.config.minOwnerKycLevel;
}

/** Whose a grant is and for which resource: what an authorization code and a grant both carry. */
type GrantSubject = Pick<GrantRecord, "subjectType" | "subjectId" | "resource" | "createdAt">;

/**
 * A used code or a rotated refresh token came back, so it leaked: its whole
 * grant is revoked (OAuth 2.1 §4.1.3, §4.3.1) and the owner's trail says so.
 */
async function revokeReplayedGrant(
  deps: OAuthDeps,
  grantId: string,
  subject: GrantSubject,
  reason: "code_replayed" | "refresh_reused",
  now: number,
): Promise<void> {
  await deps.stores.tokens.revokeGrant(grantId, now, reason);
  await deps.audit({
    ownerId: subject.subjectType === "owner" ? subject.subjectId : null,
    actorType: "anonymous",
    action: `oauth.${reason}`,
    outcome: "failure",
    reason: "invalid_grant",
    targetType: "oauth_grant",
    targetId: grantId,
  });
}

/**
 * The access token a grant redeems for `client` with `scopes`; a grant whose
 * subject or resource registration is gone is revoked itself and answers
 * invalid_grant.
 */
async function mintForGrant(
  deps: OAuthDeps,
  client: OAuthClient,
  grantId: string,
  subject: GrantSubject,
  scopes: string[],
  now: number,
): Promise<{ jwt: string; jti: string; expiresIn: number }> {
  if (!(await subjectActive(deps, subject.subjectType, subject.subjectId))) {
    await deps.stores.tokens.revokeGrant(grantId, now, "subject_inactive");
    throw new OAuthError("invalid_grant", "The authorization is no longer valid.");
  }
  if (subject.subjectType === "agent") {
    // An agent's own grant was approved with its agent token; rotating that token (it leaked) ends the grant.
    const agent = await deps.agents.agents.findById(subject.subjectId);
    if (agent === null || !setUpWithCurrentAgentToken(agent, subject.createdAt)) {
      await deps.stores.tokens.revokeGrant(grantId, now, "agent_token_rotated");
      throw new OAuthError("invalid_grant", "The agent token was rotated after this authorization.");
    }
  }
  // Deleted, or registered again since (first come, perhaps by another owner): the grant was for neither.
  const registration = await deps.stores.resources.findByResource(subject.resource);
  if (registration === null || registration.createdAt > subject.createdAt) {
    await deps.stores.tokens.revokeGrant(grantId, now, "resource_removed");
    throw new OAuthError("invalid_grant", "The MCP server of this authorization is no longer registered.");
  }
  // The owner's level can fall after approval; a live refresh token must not outlast the policy.
  if (subject.subjectType === "agent" && !(await ownerMeetsKycMinimum(deps, subject.subjectId))) {
    throw new OAuthError("invalid_grant", "This agent's owner does not meet the required KYC level.");
  }
  return mintAccessToken(deps, {
    subjectType: subject.subjectType,
    subjectId: subject.subjectId,
    clientId: client.clientId,
    audience: [subject.resource],
    scopes,
    grantId,
  });
}

/** RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge, compared in constant time. */
export function pkceMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash("sha256").update(verifier, "ascii").digest("base64url"));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** The `resource` of a token request: at most one, and if given it must be `expected` (RFC 8707 §2.2). */
function checkRequestedResource(params: OAuthParams<TokenParam>, expected: string): void {
  const requested = params.all("resource");
  if (requested.length === 0) return;
  if (requested.length > 1) throw new OAuthError("invalid_target", "Ask for one resource per token.");
  const canonical = canonicalResource(requested[0]!);
  if ("problem" in canonical || canonical.resource !== expected) {
    throw new OAuthError("invalid_target", "The resource is not the one this grant was issued for.");
  }
}

function tokenResponse(
  access: { jwt: string; expiresIn: number },
  scopes: string[],
  refresh?: string,
): TokenResponse {
  return {
    access_token: access.jwt,
    token_type: "Bearer",
    expires_in: access.expiresIn,
    ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
    ...(refresh === undefined ? {} : { refresh_token: refresh }),
  };
}

/** `grant_type=authorization_code` (OAuth 2.1 §4.1.3). */
export async function exchangeAuthorizationCode(
  deps: OAuthDeps,
  client: OAuthClient,
  params: OAuthParams<TokenParam>,
): Promise<TokenResponse> {
  const code = params.one("code");
  if (code === null) throw new OAuthError("invalid_request", "The code parameter is required.");
  const verifier = params.one("code_verifier");
  if (verifier === null) throw new OAuthError("invalid_request", "code_verifier is required (PKCE).");
  const now = deps.clock.now();
  const consumed = await deps.stores.flows.consumeCode(hashSecret(code), now);
  if (consumed === null) throw new OAuthError("invalid_grant", "The authorization code is not valid.");
  const { code: record, firstUse } = consumed;
  if (!firstUse) {
    // OAuth 2.1 §4.1.3: a used code means it leaked; what it issued is revoked.
    await revokeReplayedGrant(deps, record.grantId, record, "code_replayed", now);
    throw new OAuthError("invalid_grant", "The authorization code has already been used.");
  }
  if (record.expiresAt <= now) throw new OAuthError("invalid_grant", "The authorization code has expired.");
  if (record.clientId !== client.clientId) {
    throw new OAuthError("invalid_grant", "The authorization code was issued to another client.");
  }
  const redirectUri = params.one("redirect_uri");
  if (redirectUri !== null && redirectUri !== record.redirectUri) {
    throw new OAuthError("invalid_grant", "redirect_uri does not match the authorization request.");
  }
  if (!VERIFIER.test(verifier) || !pkceMatches(verifier, record.codeChallenge)) {
    throw new OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.");
  }
  checkRequestedResource(params, record.resource);
  const access = await mintForGrant(deps, client, record.grantId, record, record.scopes, now);
  const refresh = client.metadata.grant_types.includes("refresh_token")
    ? await issueRefreshToken(deps, record.grantId)
    : undefined;
  return tokenResponse(access, record.scopes, refresh);
}

/** `grant_type=refresh_token` with rotation and reuse detection (OAuth 2.1 §4.3). */
export async function refreshAccessToken(
  deps: OAuthDeps,
  client: OAuthClient,
  params: OAuthParams<TokenParam>,
): Promise<TokenResponse> {
  const presented = params.one("refresh_token");
  if (presented === null) throw new OAuthError("invalid_request", "The refresh_token parameter is required.");
  const now = deps.clock.now();
  const tokenHash = hashSecret(presented);
  const stored = await deps.stores.tokens.findRefreshToken(tokenHash);
  const grant = stored === null ? null : await deps.stores.tokens.findGrant(stored.grantId);
  if (grant === null) throw new OAuthError("invalid_grant", "The refresh token is not valid.");
  if (grant.clientId !== client.clientId) {
    throw new OAuthError("invalid_grant", "The refresh token was issued to another client.");
  }
  // The single-use step: exactly one presentation of a refresh token rotates it.
  const rotated = await deps.stores.tokens.rotateRefreshToken(tokenHash);
  if (rotated === null) throw new OAuthError("invalid_grant", "The refresh token is not valid.");
  if (!rotated.rotated) {
    if (rotated.token.status === "ROTATED") {
      await revokeReplayedGrant(deps, grant.id, grant, "refresh_reused", now);
      throw new OAuthError("invalid_grant", "The refresh token has already been used; the grant is revoked.");
    }
    throw new OAuthError("invalid_grant", "The refresh token has been revoked.");
  }
  if (grant.revokedAt !== null) throw new OAuthError("invalid_grant", "The grant has been revoked.");
  if (rotated.token.expiresAt <= now) throw new OAuthError("invalid_grant", "The refresh token has expired.");
  checkRequestedResource(params, grant.resource);
  const requested = parseScope(params.one("scope"));
  const scopes = requested === null ? grant.scopes : narrowScopes(requested, grant);
  const access = await mintForGrant(deps, client, grant.id, grant, scopes, now);
  return tokenResponse(access, scopes, await issueRefreshToken(deps, grant.id));
}

/** RFC 6749 §6: a refresh may narrow the scope, never widen it. */
function narrowScopes(requested: string[], grant: GrantRecord): string[] {
  if (!requested.every((scope) => grant.scopes.includes(scope))) {
    throw new OAuthError("invalid_scope", "A refresh cannot add scopes beyond the original grant.");
  }
  return requested;
}

/** `grant_type=client_credentials` for an agent authenticated with private_key_jwt (RFC 6749 §4.4). */
export async function clientCredentialsToken(
  deps: OAuthDeps,
  client: OAuthClient,
  params: OAuthParams<TokenParam>,
): Promise<TokenResponse> {
  if (client.source !== "agent" || client.agentId === null) {
    throw new OAuthError(
      "unauthorized_client",
      "Only agents with a registered key may use client_credentials.",
    );
  }
  // The same owner KYC policy as LIME's headless form: no door around it.
  if (!(await ownerMeetsKycMinimum(deps, client.agentId))) {
    throw new OAuthError("unauthorized_client", "This agent's owner does not meet the required KYC level.");
  }
  const requested = params.all("resource");
  if (requested.length > 1) throw new OAuthError("invalid_target", "Ask for one resource per token.");
  const resource = await lookupResource(deps.stores.resources, requested[0] ?? null);
  const scopes = grantScopes(parseScope(params.one("scope")), resource.scopes);
  const access = await mintAccessToken(deps, {
    subjectType: "agent",
    subjectId: client.agentId,
    clientId: client.clientId,
    audience: [resource.resource],
    scopes,
    grantId: null,
  });
  // RFC 6749 §4.4.3: no refresh token; the agent authenticates again instead.
  return tokenResponse(access, scopes);
}

/**
 * LIME's headless endpoint: an agent (X-Agent-Token) asks for a token for
 * the MCP server on `domain`. The answer has exactly LIME's three members.
 *
 * The token is bound to that host whatever the policy: audience `mcp` and
 * `https://<domain>`, claim `domain` the host name. Under `any-host` (LIME's
 * "Zero-Touch", the default) a host nobody registered gets one too, with no
 * scope; registered resources on the host lend it their scopes. Under
 * `registered-only` such a host is `invalid_target` (RFC 8707 §2).
 * docs/decisions/zero-touch-domain-tokens.md weighs the two.
 */
export async function limeDomainToken(
  deps: OAuthDeps,
  agent: { agentId: string; ownerKycLevel: number },
  domain: string,
): Promise<LimeDomainTokenResponse> {
  if (agent.ownerKycLevel < deps.config.minOwnerKycLevel) {
    throw new OAuthEnvelopeError(
      "OAUTH_CAPABILITY_DENIED",
      "This agent's owner does not meet the KYC level required for MCP access tokens.",
    );
  }
  const resources = await resourcesForDomain(deps.stores.resources, domain);
  if (resources.length === 0 && deps.config.domainTokens === "registered-only") {
    throw new OAuthError(
      "invalid_target",
      "No MCP server on this domain is known to this authorization server.",
    );
  }
  const scopes = [...new Set(resources.flatMap((resource) => resource.scopes))].sort();
  const access = await mintAccessToken(deps, {
    subjectType: "agent",
    subjectId: agent.agentId,
    clientId: agent.agentId,
    audience: [LIME_MCP_AUDIENCE, domainAudience(domain)],
    scopes,
    grantId: null,
    domain: new URL(domainAudience(domain)).hostname,
  });
  return { access_token: access.jwt, token_type: "Bearer", expires_in: access.expiresIn };
}
