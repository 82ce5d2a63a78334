/**
 * The token endpoint's grants, by `grant_type` (OAuth 2.1 §3.2.2). The table
 * is keyed by `GrantType` (contract.ts `GRANT_TYPES`, which the metadata
 * announces and the description lists), so a grant type without a handler
 * does not compile.
 */

import type { OAuthClient } from "./clients.ts";
import { GRANT_TYPES, type GrantType, type TokenParam } from "./contract.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAuthError } from "./errors.ts";
import type { OAuthParams } from "./params.ts";
import {
  clientCredentialsToken,
  exchangeAuthorizationCode,
  refreshAccessToken,
  type TokenResponse,
} from "./tokens.ts";

type Grant = (
  deps: OAuthDeps,
  client: OAuthClient,
  params: OAuthParams<TokenParam>,
) => Promise<TokenResponse>;

const GRANTS: Record<GrantType, Grant> = {
  authorization_code: exchangeAuthorizationCode,
  refresh_token: refreshAccessToken,
  client_credentials: clientCredentialsToken,
};

function isGrantType(name: string): name is GrantType {
  return Object.hasOwn(GRANTS, name);
}

/** The request's `grant_type`, checked before the client is (RFC 6749 §5.2 `unsupported_grant_type`). */
export function requestedGrantType(params: OAuthParams<TokenParam>): GrantType {
  const grantType = params.one("grant_type");
  if (grantType === null) throw new OAuthError("invalid_request", "grant_type is required.");
  if (!isGrantType(grantType)) {
    throw new OAuthError("unsupported_grant_type", `Supported: ${GRANT_TYPES.join(", ")}.`);
  }
  return grantType;
}

/** Runs the grant for an authenticated client registered for it (RFC 6749 §5.2 `unauthorized_client`). */
export async function redeemGrant(
  deps: OAuthDeps,
  client: OAuthClient,
  grantType: GrantType,
  params: OAuthParams<TokenParam>,
): Promise<TokenResponse> {
  if (!client.metadata.grant_types.includes(grantType)) {
    throw new OAuthError("unauthorized_client", `This client is not registered for ${grantType}.`);
  }
  return GRANTS[grantType](deps, client, params);
}
