/**
 * Token revocation (RFC 7009) and introspection (RFC 7662).
 *
 * Revocation: the client authenticates as at the token endpoint and may
 * revoke only what was issued to it. A refresh token takes its whole grant
 * with it (every refresh and access token issued under it, RFC 7009 §2.1);
 * an access token is marked revoked by its `jti`. The answer is 200 whether
 * or not the token was known, so a caller learns nothing about other
 * clients' tokens (§2.2).
 *
 * Introspection: the caller is a protected resource, authenticated with the
 * introspection credential it received when registered
 * (`Authorization: Bearer lime_rs_...`). A token is reported active only
 * when its signature, issuer, type and expiry verify, its audience is that
 * resource (or its LIME domain), neither the token nor its grant has been
 * revoked, and its subject still stands (a revoked agent's tokens are
 * inactive at once); anything else is `{"active": false}` (§2.2).
 *
 * Access tokens stay self-contained JWTs: a resource server that verifies
 * them locally (the SDK helper does) learns of a revocation only when the
 * token expires, which `accessTokenMs` (default 300 s) bounds.
 */

import { decodeBase64url } from "@lime-ts/core/encoding";
import { type JwtClaims, verifyJwt } from "@lime-ts/core/passport";
import { hashesEqual, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import type { OAuthClient } from "./clients.ts";
import type { IntrospectionParam, IntrospectionResponse, RevocationParam } from "./contract.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAuthError } from "./errors.ts";
import type { OAuthParams } from "./params.ts";
import { domainAudience } from "./resources.ts";
import { LIME_MCP_AUDIENCE, subjectActive } from "./tokens.ts";

/** The `jti` of a JWT-shaped string, without verifying it (revocation needs only the lookup key). */
function unverifiedJti(token: string): string | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1]!.length > 8192) return null;
  const payload = decodeBase64url(parts[1]!);
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(new TextDecoder().decode(payload)) as { jti?: unknown };
    return typeof claims.jti === "string" ? claims.jti : null;
  } catch {
    return null;
  }
}

export async function revokeToken(
  deps: OAuthDeps,
  client: OAuthClient,
  params: OAuthParams<RevocationParam>,
  ip: string,
): Promise<void> {
  const token = params.one("token");
  if (token === null) throw new OAuthError("invalid_request", "The token parameter is required.");
  const now = deps.clock.now();
  if (token.startsWith("lime_rt_")) {
    const stored = await deps.stores.tokens.findRefreshToken(hashSecret(token));
    const grant = stored === null ? null : await deps.stores.tokens.findGrant(stored.grantId);
    if (grant === null || grant.clientId !== client.clientId || grant.revokedAt !== null) return;
    await deps.stores.tokens.revokeGrant(grant.id, now, "revoked_by_client");
    await deps.audit({
      ownerId: grant.subjectType === "owner" ? grant.subjectId : null,
      actorType: client.agentId === null ? "anonymous" : "agent",
      actorId: client.agentId,
      action: "oauth.grant_revoked",
      targetType: "oauth_grant",
      targetId: grant.id,
      ip,
    });
    return;
  }
  const jti = unverifiedJti(token);
  if (jti === null) return;
  const record = await deps.stores.tokens.findAccessToken(jti);
  if (record === null || record.clientId !== client.clientId || record.revokedAt !== null) return;
  await deps.stores.tokens.revokeAccessToken(jti, now);
}

/** Authenticates the calling resource server by its introspection credential. */
export async function authenticateResourceServer(deps: OAuthDeps, request: Request) {
  const header = request.headers.get("authorization");
  const match = header === null ? null : /^Bearer (lime_rs_[A-Za-z0-9_-]{43})$/.exec(header.trim());
  if (match === null) {
    throw new OAuthError(
      "invalid_token",
      "Authenticate with the resource's introspection credential (Bearer).",
    );
  }
  const hash = hashSecret(match[1]!);
  const resource = await deps.stores.resources.findByIntrospectionTokenHash(hash);
  if (resource === null || !hashesEqual(resource.introspectionTokenHash, hash)) {
    throw new OAuthError("invalid_token", "The introspection credential is not valid.");
  }
  return resource;
}

export async function introspectToken(
  deps: OAuthDeps,
  resource: { resource: string; host: string },
  params: OAuthParams<IntrospectionParam>,
): Promise<IntrospectionResponse> {
  const token = params.one("token");
  if (token === null) throw new OAuthError("invalid_request", "The token parameter is required.");
  const inactive: IntrospectionResponse = { active: false };
  let claims: JwtClaims;
  try {
    ({ claims } = await verifyJwt(token, deps.keyRing.jwks().document, {
      issuer: deps.issuer,
      audience: [resource.resource, domainAudience(resource.host)],
      typ: "at+jwt",
      now: deps.clock.now() / 1000,
    }));
  } catch {
    return inactive;
  }
  // `https://<host>` alone is the host's root resource, another server; it stands for the host only in LIME's domain token.
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(resource.resource) && !audience.includes(LIME_MCP_AUDIENCE)) return inactive;
  const record = await deps.stores.tokens.findAccessToken(claims.jti);
  if (record === null || record.revokedAt !== null) return inactive;
  // Revoking an agent answers a stolen credential: its tokens are inactive at once, whatever minted them.
  if (!(await subjectActive(deps, record.subjectType, record.subjectId))) return inactive;
  if (record.grantId !== null) {
    const grant = await deps.stores.tokens.findGrant(record.grantId);
    if (grant === null || grant.revokedAt !== null) return inactive;
  }
  return {
    active: true,
    token_type: "Bearer",
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    // Every access token this server signs names its client (tokens.ts `mintAccessToken`).
    client_id: claims.client_id as string,
    ...(typeof claims.scope === "string" ? { scope: claims.scope } : {}),
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
  };
}
