/**
 * Client authentication at the token and revocation endpoints.
 *
 * Two methods exist here, and the metadata lists exactly these:
 * - `none` (public clients: registered ones and metadata-document ones):
 *   the request names its `client_id`; PKCE and refresh-token rotation carry
 *   the security.
 * - `private_key_jwt` (RFC 7523 §2.2, agents that registered a public key):
 *   a signed assertion with `iss` = `sub` = the client id, `aud` = our issuer
 *   (or the token endpoint), a short `exp`, and a `jti` never seen before
 *   (RFC 7523 §3 item 7; kept until the assertion could no longer verify,
 *   clock tolerance included). RS256 and ES256.
 * Client secrets are never issued, so Basic credentials and `client_secret`
 * are refused as `invalid_client`.
 */

import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";
import { findClient, type OAuthClient, setUpWithCurrentAgentToken } from "./clients.ts";
import { ASSERTION_ALGORITHMS, type ClientAuthParam, JWT_BEARER_ASSERTION } from "./contract.ts";
import type { OAuthDeps } from "./deps.ts";
import { oauthEndpoints } from "./deps.ts";
import { OAuthError } from "./errors.ts";
import type { OAuthParams } from "./params.ts";

/** An assertion may not be valid for longer than this (a stolen one is useless soon after). */
const MAX_ASSERTION_LIFETIME_S = 600;
const CLOCK_TOLERANCE_S = 30;

const invalidClient = (why: string) => new OAuthError("invalid_client", why);

async function authenticateWithAssertion(
  deps: OAuthDeps,
  params: OAuthParams<ClientAuthParam>,
): Promise<OAuthClient> {
  const assertion = params.one("client_assertion");
  if (params.one("client_assertion_type") !== JWT_BEARER_ASSERTION) {
    throw invalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION}.`);
  }
  if (assertion === null || assertion.length > 8192)
    throw invalidClient("client_assertion is missing or too long.");
  let claimedId: unknown;
  try {
    const header = decodeProtectedHeader(assertion);
    // An access token or passport is signed by us, never by a client; refuse it by type before anything else.
    if (typeof header.typ === "string" && /^(?:application\/)?(?:at|passport)\+jwt$/i.test(header.typ)) {
      throw invalidClient("The client assertion has the type of another token.");
    }
    claimedId = decodeJwt(assertion).sub;
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw invalidClient("client_assertion is not a JWT.");
  }
  const named = params.one("client_id");
  if (typeof claimedId !== "string" || (named !== null && named !== claimedId)) {
    throw invalidClient("The client assertion does not name the client.");
  }
  const client = await findClient({ clients: deps.stores.clients, cimd: null }, claimedId);
  const keys = client.metadata.jwks;
  if (client.source !== "agent" || client.agentId === null || keys === null) {
    throw invalidClient("This client does not authenticate with private_key_jwt.");
  }
  const agent = await deps.agents.agents.findById(client.agentId);
  if (agent?.status !== "ACTIVE") throw invalidClient("The agent behind this client is not active.");
  if (client.registeredAt === null || !setUpWithCurrentAgentToken(agent, client.registeredAt)) {
    throw invalidClient("The agent token was rotated after these keys were registered; register them again.");
  }

  const endpoints = oauthEndpoints(deps.issuer);
  const now = deps.clock.now();
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet({ keys: keys.keys as never }), {
      issuer: client.clientId,
      subject: client.clientId,
      audience: [endpoints.issuer, endpoints.token],
      algorithms: [...ASSERTION_ALGORITHMS],
      currentDate: new Date(now),
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ["exp", "jti"],
    }));
  } catch (error) {
    const why =
      error instanceof joseErrors.JWTExpired
        ? "The client assertion has expired."
        : error instanceof joseErrors.JWTClaimValidationFailed
          ? `The client assertion's "${error.claim}" claim is not acceptable.`
          : "The client assertion does not verify with the client's registered keys.";
    throw invalidClient(why);
  }
  const exp = payload.exp!;
  if (exp - now / 1000 > MAX_ASSERTION_LIFETIME_S) {
    throw invalidClient(`The client assertion must expire within ${MAX_ASSERTION_LIFETIME_S} s.`);
  }
  if (typeof payload.jti !== "string" || payload.jti.length === 0 || payload.jti.length > 256) {
    throw invalidClient("The client assertion needs a jti.");
  }
  // Kept for as long as the assertion verifies, tolerance included: dropping it at `exp` reopened a window.
  const verifiesUntil = (exp + CLOCK_TOLERANCE_S) * 1000;
  if (!(await deps.stores.tokens.useAssertionId(client.clientId, payload.jti, verifiesUntil, now))) {
    throw invalidClient("The client assertion has been used before.");
  }
  return client;
}

/**
 * Identifies and authenticates the calling client, or throws
 * `invalid_client`. A public client presenting only `client_id` is
 * identified, not authenticated: callers check that what it asks for was
 * issued to that client id.
 */
export async function authenticateClient(
  deps: OAuthDeps,
  params: OAuthParams<ClientAuthParam>,
  request: Request,
): Promise<OAuthClient> {
  if (request.headers.get("authorization") !== null) {
    throw invalidClient("This server issues no client secrets; use client_id, or private_key_jwt.");
  }
  if (params.one("client_secret") !== null) {
    throw invalidClient("This server issues no client secrets; use client_id, or private_key_jwt.");
  }
  if (params.one("client_assertion") !== null || params.one("client_assertion_type") !== null) {
    return authenticateWithAssertion(deps, params);
  }
  const client = await findClient({ clients: deps.stores.clients, cimd: deps.cimd }, params.one("client_id"));
  if (client.metadata.token_endpoint_auth_method !== "none") {
    throw invalidClient("This client must authenticate with private_key_jwt.");
  }
  return client;
}
