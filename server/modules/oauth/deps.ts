/**
 * What the OAuth provider needs from the rest of the server, assembled once
 * by `createApp`, and the URLs of its endpoints.
 */

import { readFileSync } from "node:fs";
import type { Clock } from "../../clock.ts";
import type { OAuthConfig, ServerConfig } from "../../config.ts";
import type { AgentDeps } from "../../core/agents/service.ts";
import type { KeyRing } from "../../core/keys/service.ts";
import type { AuditRecorder } from "../../foundation/audit/service.ts";
import type { SessionDeps } from "../../foundation/sessions/service.ts";
import type { UserDeps } from "../../foundation/users/service.ts";
import type { Logger } from "../../infrastructure/logger.ts";
import type { Metrics } from "../../observability/metrics.ts";
import { CimdResolver } from "./cimd.ts";
import type { OAuthStores } from "./store.ts";

export interface OAuthDeps {
  clock: Clock;
  config: OAuthConfig;
  /** The issuer identifier (RFC 8414 §2): the server's public URL, shared with passports. */
  issuer: string;
  production: boolean;
  keyRing: KeyRing;
  stores: OAuthStores;
  /** null when Client ID Metadata Documents are switched off. */
  cimd: CimdResolver | null;
  agents: AgentDeps;
  sessions: SessionDeps;
  users: UserDeps;
  audit: AuditRecorder;
  logger: Logger;
  /** Counts refused proof-of-work nonces; none when absent. */
  metrics?: Pick<Metrics, "powFailed">;
}

/** Path prefix of every OAuth route; form bodies are accepted only under it. */
export const OAUTH_PREFIX = "/api/v1/modules/oauth";

/** The LIME-compatible JWKS path (`{keys}` with the envelope members), named as `jwks_uri`. */
export const LIME_JWKS_PATH = "/api/v1/core/.well-known/jwks.json";

export interface OAuthEndpoints {
  issuer: string;
  authorization: string;
  token: string;
  registration: string;
  revocation: string;
  introspection: string;
  jwks: string;
}

/** Absolute endpoint URLs under the issuer (a path in PUBLIC_URL is kept). */
export function oauthEndpoints(issuer: string): OAuthEndpoints {
  return {
    issuer,
    authorization: `${issuer}${OAUTH_PREFIX}/authorize`,
    token: `${issuer}${OAUTH_PREFIX}/token`,
    registration: `${issuer}${OAUTH_PREFIX}/register`,
    revocation: `${issuer}${OAUTH_PREFIX}/revoke`,
    introspection: `${issuer}${OAUTH_PREFIX}/introspect`,
    jwks: `${issuer}${LIME_JWKS_PATH}`,
  };
}

/** Builds the module's dependencies from the server's parts (called by `createApp`). */
export function buildOAuthDeps(
  input: Omit<OAuthDeps, "config" | "issuer" | "production" | "cimd"> & { server: ServerConfig },
): OAuthDeps {
  const { server, ...rest } = input;
  const config = server.oauth;
  const cimd = config.cimd.enabled
    ? new CimdResolver({
        clock: input.clock,
        allowLoopback: config.cimd.allowLoopback,
        ca: config.cimd.caFile === null ? undefined : readFileSync(config.cimd.caFile, "utf8"),
        maxBytes: config.cimd.maxBytes,
        timeoutMs: config.cimd.timeoutMs,
        minCacheMs: 30_000,
        maxCacheMs: config.cimd.maxCacheMs,
        failureCacheMs: 30_000,
        maxEntries: 1000,
      })
    : null;
  return { ...rest, config, issuer: server.publicUrl, production: server.production, cimd };
}

/** Drops lapsed flow and token state (run by the server's maintenance tick). */
export async function purgeOAuthState(deps: OAuthDeps): Promise<void> {
  const now = deps.clock.now();
  await deps.stores.flows.purge(now);
  await deps.stores.tokens.purge(now);
}
