/**
 * The protocol endpoints, answering in RFC 6749 JSON: token (OAuth 2.1
 * §3.2), client registration (RFC 7591), revocation (RFC 7009) and
 * introspection (RFC 7662), and LIME's headless forms for agents: a token
 * for the MCP server on a domain, and an authorization request's PoW
 * challenge. Token, registration and revocation are open to browser
 * clients (CORS); introspection is for resource servers only.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { authenticateAgent } from "../../core/agents/service.ts";
import { clientAddress, rateLimitKey } from "../../http/client-address.ts";
import { AGENT_TOKEN, AGENT_TOKEN_FAILURES, INPUT_FAILURES, PUBLIC } from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import {
  createAuthorizationRequest,
  presentAgentChallenge,
  RedirectableError,
  UnredirectableError,
} from "./authorize.ts";
import { looksLikeClientIdUrl } from "./cimd.ts";
import { authenticateClient } from "./client-auth.ts";
import { registerClient } from "./clients.ts";
import {
  type ClientAuthParam,
  ClientInformationResponse,
  ClientRegistrationRequest,
  IntrospectionForm,
  IntrospectionResponse,
  LimeDomainTokenRequest,
  LimeDomainTokenResponse,
  RevocationForm,
  type RevocationParam,
  RevocationResponse,
  type TokenParam,
  TokenRequestForm,
  TokenResponse,
} from "./contract.ts";
import { OAUTH_PREFIX, type OAuthDeps } from "./deps.ts";
import {
  envelopeErrorResponse,
  jsonResponse,
  OAuthEnvelopeError,
  OAuthError,
  oauthErrorResponse,
  oauthFailure,
} from "./errors.ts";
import { redeemGrant, requestedGrantType } from "./grants.ts";
import {
  CORS_HEADERS,
  describe,
  envelopeErrors,
  formBody,
  jsonBody,
  mergeResponses,
  OAUTH_RATE_LIMITED,
  oauthAnswer,
  oauthErrors,
  optionally,
  RESOURCE_SERVER_TOKEN,
  withHeaders,
} from "./openapi.ts";
import { FormBody, type OAuthParams, UnreadableBody } from "./params.ts";
import { parseDomain } from "./resources.ts";
import { authenticateResourceServer, introspectToken, revokeToken } from "./revocation.ts";
import {
  admitAuthorizationRequest,
  answeringFailures,
  formParams,
  redirectToClient,
  withCors,
} from "./route-helpers.ts";
import { limeDomainToken } from "./tokens.ts";

export interface ProtocolRouteDeps {
  oauth: OAuthDeps;
  rateLimiter: RateLimiter;
  config: Pick<ServerConfig, "trustProxy">;
}

/**
 * RFC 6749 JSON (§5.2), and what only the authorization endpoint throws
 * (§4.1.2.1: redirected once the redirect URI is known). An agent's own
 * failures (credentials, LIME's capability codes) stay in the envelope
 * its clients read.
 */
function protocolFailure(issuer: string) {
  return (error: unknown): Response => {
    if (error instanceof RedirectableError) return redirectToClient(error, issuer);
    if (error instanceof UnredirectableError) return oauthErrorResponse(error.oauth);
    if (error instanceof OAuthEnvelopeError) return envelopeErrorResponse(error);
    return oauthFailure(error);
  };
}

/** LIME's headless authorization: an agent (X-Agent-Token) gets the PoW challenge it approves with. */
export function agentAuthorization({ oauth: deps, rateLimiter, config }: ProtocolRouteDeps) {
  const answer = answeringFailures(protocolFailure(deps.issuer));
  return (request: Request) =>
    answer(async () => {
      const ip = clientAddress(request, config.trustProxy);
      const validated = await admitAuthorizationRequest(deps, rateLimiter, request, ip);
      const agent = await authenticateAgent(deps.agents, request.headers.get("x-agent-token"), ip);
      const pending = await createAuthorizationRequest(deps, validated, agent.agent.id);
      return jsonResponse(ok(presentAgentChallenge(pending, validated.client)));
    });
}

export function protocolRoutes({ oauth: deps, rateLimiter, config }: ProtocolRouteDeps) {
  const limits = deps.config;
  const answer = answeringFailures(protocolFailure(deps.issuer));
  const answerCrossOrigin = async (work: () => Promise<Response>) => withCors(await answer(work));
  const ipOf = (request: Request) => clientAddress(request, config.trustProxy);
  /**
   * A URL client id is fetched (CIMD) when it is looked up; the token limit is keyed by that
   * client id, which a caller varies at will, so such requests are counted per address first.
   */
  const limitClientDocumentLookups = async (params: OAuthParams<ClientAuthParam>, ip: string) => {
    const named = params.one("client_id");
    if (named === null || !looksLikeClientIdUrl(named) || params.one("client_assertion") !== null) return;
    await rateLimiter.enforce("oauth-client-document", rateLimitKey(ip), limits.authorizeRequestsPerMinute);
  };
  /** LIME's headless token form: JSON {"domain"} with X-Agent-Token. */
  const domainToken = async (body: unknown, request: Request, ip: string) => {
    if (body === null || typeof body !== "object" || body instanceof UnreadableBody) {
      throw new OAuthError(
        "invalid_request",
        "Send a form-encoded token request (or LIME's JSON with X-Agent-Token).",
      );
    }
    const agent = await authenticateAgent(deps.agents, request.headers.get("x-agent-token"), ip);
    await rateLimiter.enforce("oauth-token", agent.agent.id, limits.tokenRequestsPerMinute);
    const domain = parseDomain((body as { [Name in keyof LimeDomainTokenRequest]?: unknown }).domain);
    return limeDomainToken(deps, { agentId: agent.agent.id, ownerKycLevel: agent.owner.kycLevel }, domain);
  };

  return new Elysia({ tags: ["oauth"] })
    .post(
      `${OAUTH_PREFIX}/token`,
      ({ body, request }) =>
        answerCrossOrigin(async () => {
          const ip = ipOf(request);
          if (!(body instanceof FormBody)) return jsonResponse(await domainToken(body, request, ip));
          const params: OAuthParams<TokenParam> = body.params;
          const grantType = requestedGrantType(params);
          await limitClientDocumentLookups(params, ip);
          const client = await authenticateClient(deps, params, request);
          // A public client's id is no secret (a metadata-document client's is shared by all its users),
          // so its budget is per address as well: otherwise anyone could spend it for everyone.
          const budget =
            client.metadata.token_endpoint_auth_method === "none"
              ? `${client.clientId} ${rateLimitKey(ip)}`
              : client.clientId;
          await rateLimiter.enforce("oauth-token", budget, limits.tokenRequestsPerMinute);
          return jsonResponse(await redeemGrant(deps, client, grantType, params));
        }),
      {
        detail: {
          summary: "Token endpoint (OAuth 2.1 §3.2)",
          description:
            "A form body runs a grant: `authorization_code` with PKCE (RFC 7636), `refresh_token` (rotating), " +
            "or `client_credentials` for an agent authenticating with `private_key_jwt` (RFC 7523 §2.2); " +
            "clients authenticate with `none` (client_id) or `private_key_jwt`. A JSON `{domain}` body with " +
            "X-Agent-Token is LIME's headless form, answered with exactly `{access_token, token_type, expires_in}`.",
          operationId: "requestToken",
          security: optionally(AGENT_TOKEN),
          requestBody: formBody(TokenRequestForm, LimeDomainTokenRequest),
          responses: describe(
            withHeaders(
              mergeResponses(
                oauthAnswer(200, TokenResponse, "RFC 6749 §5.1 access token response."),
                oauthAnswer(200, LimeDomainTokenResponse, "LIME's headless answer (JSON `{domain}` body)."),
                oauthErrors([
                  "invalid_request",
                  "invalid_client",
                  "invalid_grant",
                  "unauthorized_client",
                  "unsupported_grant_type",
                  "invalid_scope",
                  "invalid_target",
                ]),
                OAUTH_RATE_LIMITED,
              ),
              CORS_HEADERS,
            ),
            envelopeErrors(AGENT_TOKEN_FAILURES, ["OAUTH_CAPABILITY_DENIED"]),
          ),
        },
      },
    )
    .post(
      `${OAUTH_PREFIX}/register`,
      ({ body, request }) =>
        answerCrossOrigin(async () => {
          const ip = ipOf(request);
          await rateLimiter.enforce("oauth-register", rateLimitKey(ip), limits.registrationsPerMinute);
          if (body instanceof FormBody || body instanceof UnreadableBody || body === null) {
            throw new OAuthError("invalid_client_metadata", "Send the client metadata as a JSON object.");
          }
          return jsonResponse(await registerClient(deps, body, ip), 201);
        }),
      {
        detail: {
          summary: "Dynamic Client Registration (RFC 7591): public clients only",
          description:
            "Registers a public client (`token_endpoint_auth_method` `none`, no secret) for the authorization " +
            "code flow. Deprecated by MCP 2026-07-28 in favour of Client ID Metadata Documents, kept for " +
            "clients that need it.",
          operationId: "registerClient",
          security: PUBLIC,
          requestBody: jsonBody(ClientRegistrationRequest),
          responses: describe(
            withHeaders(
              mergeResponses(
                oauthAnswer(201, ClientInformationResponse, "RFC 7591 §3.2.1 client information response."),
                oauthErrors(["invalid_redirect_uri", "invalid_client_metadata"]),
                OAUTH_RATE_LIMITED,
              ),
              CORS_HEADERS,
            ),
            envelopeErrors(["PAYLOAD_TOO_LARGE"]),
          ),
        },
      },
    )
    .post(
      `${OAUTH_PREFIX}/revoke`,
      ({ body, request }) =>
        answerCrossOrigin(async () => {
          const ip = ipOf(request);
          const params: OAuthParams<RevocationParam> = formParams(body);
          await limitClientDocumentLookups(params, ip);
          const client = await authenticateClient(deps, params, request);
          await revokeToken(deps, client, params, ip);
          return jsonResponse({});
        }),
      {
        detail: {
          summary: "Token revocation (RFC 7009)",
          description:
            "The client authenticates as at the token endpoint and revokes a token issued to it; a refresh " +
            "token takes its whole grant with it. 200 whether or not the token was known (§2.2).",
          operationId: "revokeToken",
          security: PUBLIC,
          requestBody: formBody(RevocationForm),
          responses: describe(
            withHeaders(
              mergeResponses(
                oauthAnswer(200, RevocationResponse, "Revoked, or not a token of this client."),
                oauthErrors(["invalid_request", "invalid_client"]),
                OAUTH_RATE_LIMITED,
              ),
              CORS_HEADERS,
            ),
            envelopeErrors(INPUT_FAILURES),
          ),
        },
      },
    )
    .post(
      `${OAUTH_PREFIX}/introspect`,
      ({ body, request }) =>
        answer(async () => {
          const resource = await authenticateResourceServer(deps, request);
          return jsonResponse(await introspectToken(deps, resource, formParams(body)));
        }),
      {
        detail: {
          summary: "Token introspection (RFC 7662), for registered resource servers",
          description:
            "The caller is a registered MCP server, authenticated with its `introspection_token` " +
            "(`Authorization: Bearer lime_rs_…`). A token is active only if it verifies, is for that " +
            "server (or its LIME domain), and neither it, its grant nor its subject has been revoked.",
          operationId: "introspectToken",
          security: RESOURCE_SERVER_TOKEN,
          requestBody: formBody(IntrospectionForm),
          responses: describe(
            oauthAnswer(200, IntrospectionResponse, "RFC 7662 §2.2 introspection response."),
            oauthErrors(["invalid_request", "invalid_token"]),
            envelopeErrors(INPUT_FAILURES),
          ),
        },
      },
    );
}
