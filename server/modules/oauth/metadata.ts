/**
 * Authorization Server Metadata (RFC 8414 §2), served raw (no envelope).
 * At LIME's own path the same members are also mirrored under
 * `{ "ok": true, "data": {...} }`: `lime-mcp-server-sdk` unwraps that
 * envelope before reading `issuer` and `jwks_uri`, while RFC 8414 clients
 * read the top level and ignore members they do not know (§3.2).
 *
 * `issuer` is the server's public URL, the same value every token and
 * passport carries in `iss`, and the document is served at every path a
 * client derives from it (RFC 8414 §3.1 inserts the well-known segment
 * before an issuer's path; MCP clients try that first), plus LIME's own
 * path. OpenID Connect discovery is not served: this server issues no ID
 * tokens, and a document there would claim an OpenID Provider it is not.
 * Every capability listed is one the endpoints implement.
 */

import {
  ASSERTION_ALGORITHMS,
  type AuthorizationServerMetadata,
  CLIENT_AUTH_METHODS,
  CODE_CHALLENGE_METHODS,
  GRANT_TYPES,
  type LimeCompatibleMetadata,
  RESPONSE_TYPES,
} from "./contract.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAUTH_PREFIX, oauthEndpoints } from "./deps.ts";

export const METADATA_SUFFIX = "/.well-known/oauth-authorization-server";

/** Paths that serve the document: the RFC 8414 one for the issuer, the root one, and LIME's. */
export function metadataPaths(issuer: string): string[] {
  const issuerPath = new URL(issuer).pathname.replace(/\/+$/, "");
  const paths = new Set([METADATA_SUFFIX, `${OAUTH_PREFIX}${METADATA_SUFFIX}`]);
  if (issuerPath !== "") paths.add(`${METADATA_SUFFIX}${issuerPath}`);
  return [...paths];
}

/** The document for LIME's path: RFC 8414 at the top level, LIME's envelope beside it. */
export function limeCompatibleMetadata(metadata: AuthorizationServerMetadata): LimeCompatibleMetadata {
  return { ...metadata, ok: true, data: metadata };
}

export function authorizationServerMetadata(
  deps: Pick<OAuthDeps, "issuer" | "cimd">,
): AuthorizationServerMetadata {
  const endpoints = oauthEndpoints(deps.issuer);
  return {
    issuer: endpoints.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    jwks_uri: endpoints.jwks,
    registration_endpoint: endpoints.registration,
    revocation_endpoint: endpoints.revocation,
    introspection_endpoint: endpoints.introspection,
    response_types_supported: [...RESPONSE_TYPES],
    response_modes_supported: ["query"],
    grant_types_supported: [...GRANT_TYPES],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    code_challenge_methods_supported: [...CODE_CHALLENGE_METHODS],
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: deps.cimd !== null,
    access_token_signing_alg_values_supported: ["RS256"],
  };
}
