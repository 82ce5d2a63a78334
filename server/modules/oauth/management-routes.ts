/**
 * The module's API in the LIME envelope: owners register the MCP servers
 * tokens are issued for, agents register the keys they authenticate with
 * (private_key_jwt) and approve their own authorization requests (LIME's
 * headless form: the agent token and the solved proof of work).
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { authenticateAgent } from "../../core/agents/service.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import {
  AGENT_TOKEN,
  AGENT_TOKEN_FAILURES,
  INPUT_FAILURES,
  OWNER_READ_FAILURES,
  OWNER_SESSION,
  OWNER_WRITE_FAILURES,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import { approveAsAgent } from "./authorize.ts";
import { presentAgentClient, registerAgentKeys } from "./clients.ts";
import { AgentApprovalBody, type AgentApprovalParam, AuthorizationResponseQuery } from "./contract.ts";
import { OAUTH_PREFIX, type OAuthDeps } from "./deps.ts";
import { envelopeFailure, OAuthError, oauthErrorResponse } from "./errors.ts";
import {
  describe,
  envelopeAnswers,
  envelopeErrors,
  formBody,
  oauthErrors,
  redirect as redirectAnswer,
} from "./openapi.ts";
import { FormBody } from "./params.ts";
import { deleteResource, presentResource, registerResource } from "./resources.ts";
import { answeringFailures, redirect } from "./route-helpers.ts";
import {
  AgentClientView,
  AgentJwksBody,
  AgentTokenHeaders,
  RegisteredResource,
  ResourceBody,
  ResourceList,
  ResourceParams,
} from "./schemas.ts";

export interface ManagementRouteDeps {
  oauth: OAuthDeps;
  rateLimiter: RateLimiter;
  config: Pick<ServerConfig, "trustProxy" | "rateLimits">;
}

/** The envelope, but for a repeated form parameter (RFC 6749 §3.1): the one OAuth error here, in RFC 6749 JSON. */
function managementFailure(error: unknown): Response {
  return error instanceof OAuthError ? oauthErrorResponse(error) : envelopeFailure(error);
}

export function managementRoutes({ oauth: deps, rateLimiter, config }: ManagementRouteDeps) {
  const answer = answeringFailures(managementFailure);
  const ipOf = (request: Request) => clientAddress(request, config.trustProxy);
  const resourceDeps = {
    clock: deps.clock,
    resources: deps.stores.resources,
    audit: deps.audit,
    production: deps.production,
  };

  return new Elysia({ tags: ["oauth"] })
    .post(
      `${OAUTH_PREFIX}/authorize`,
      ({ body, request }) =>
        answer(async () => {
          const ip = ipOf(request);
          const agent = await authenticateAgent(deps.agents, request.headers.get("x-agent-token"), ip);
          await rateLimiter.enforce("approvals", agent.agent.id, config.rateLimits.approvalsPerMinute);
          const params = body instanceof FormBody ? body.params : null;
          const json = (body ?? {}) as Record<string, unknown>;
          const read = (name: AgentApprovalParam) =>
            params !== null
              ? params.one(name)
              : typeof json[name] === "string"
                ? (json[name] as string)
                : null;
          const location = await approveAsAgent(
            deps,
            agent,
            read("authorization_request_id"),
            read("pow_nonce"),
            ip,
          );
          return redirect(location);
        }),
      {
        detail: {
          summary: "Agent self-approval: agent token + solved PoW → redirect with the code",
          description:
            "LIME's headless authorization: the agent that fetched the challenge (`GET /authorize` with " +
            "X-Agent-Token) approves for itself. A wrong nonce leaves the request pending.",
          operationId: "approveAuthorizationAsAgent",
          security: AGENT_TOKEN,
          requestBody: formBody(AgentApprovalBody, AgentApprovalBody),
          responses: describe(
            redirectAnswer(
              302,
              "Approved: on to the client's redirect URI with the code (RFC 6749 §4.1.2).",
              "The client's redirect_uri with `code`, `state` and `iss` (RFC 9207).",
              [AuthorizationResponseQuery],
            ),
            oauthErrors(["invalid_request"]),
            envelopeErrors(
              [...AGENT_TOKEN_FAILURES, "RATE_LIMIT_EXCEEDED", ...INPUT_FAILURES],
              [
                "OAUTH_AUTHORIZATION_REQUEST_NOT_FOUND",
                "OAUTH_AUTHORIZATION_REQUEST_EXPIRED",
                "OAUTH_CAPABILITY_DENIED",
                "MISSING_POW_NONCE",
                "INVALID_POW",
              ],
            ),
          ),
        },
      },
    )
    .post(
      `${OAUTH_PREFIX}/resources`,
      ({ body, request, set }) =>
        answer(async () => {
          const { user } = await requireOwner(deps, request);
          const { record, introspectionToken } = await registerResource(
            resourceDeps,
            user,
            { resource: body.resource, displayName: body.display_name, scopes: body.scopes },
            ipOf(request),
          );
          set.status = 201;
          return ok({ ...presentResource(record), introspection_token: introspectionToken });
        }),
      {
        body: ResourceBody,
        response: envelopeAnswers(
          201,
          RegisteredResource,
          [...OWNER_WRITE_FAILURES, ...INPUT_FAILURES],
          ["OAUTH_INVALID_RESOURCE", "OAUTH_RESOURCE_TAKEN"],
        ),
        detail: {
          summary: "Register an MCP server (protected resource); the introspection_token is shown once",
          description:
            "First come: any signed-in owner may register a resource URI nobody registered yet. Tokens are " +
            "issued only for registered resources, with the scopes declared here.",
          operationId: "registerOAuthResource",
          security: OWNER_SESSION,
        },
      },
    )
    .get(
      `${OAUTH_PREFIX}/resources`,
      ({ request }) =>
        answer(async () => {
          const { user } = await requireOwner(deps, request);
          return ok({ resources: (await deps.stores.resources.listByOwner(user.id)).map(presentResource) });
        }),
      {
        response: envelopeAnswers(200, ResourceList, OWNER_READ_FAILURES),
        detail: {
          summary: "The owner's registered MCP servers",
          operationId: "listOAuthResources",
          security: OWNER_SESSION,
        },
      },
    )
    .delete(
      `${OAUTH_PREFIX}/resources/:resource_id`,
      ({ params, request, set }) =>
        answer(async () => {
          const { user } = await requireOwner(deps, request);
          await deleteResource(resourceDeps, user, params.resource_id, ipOf(request));
          set.status = 204;
          return null;
        }),
      {
        params: ResourceParams,
        detail: {
          summary: "Remove a registered MCP server",
          description: "Grants for it stop redeeming: their refresh tokens answer `invalid_grant`.",
          operationId: "deleteOAuthResource",
          security: OWNER_SESSION,
          // No `response` map: a 204 has no body to check, and the description gets a proper empty 204.
          responses: describe(
            { 204: { description: "Removed." } },
            envelopeErrors([...OWNER_WRITE_FAILURES, "VALIDATION_FAILED"], ["OAUTH_RESOURCE_NOT_FOUND"]),
          ),
        },
      },
    )
    .put(
      `${OAUTH_PREFIX}/agents/me/jwks`,
      ({ body, request }) =>
        answer(async () => {
          const ip = ipOf(request);
          const agent = await authenticateAgent(deps.agents, request.headers.get("x-agent-token"), ip);
          return ok(presentAgentClient(await registerAgentKeys(deps, agent, body, ip)));
        }),
      {
        body: AgentJwksBody,
        headers: AgentTokenHeaders,
        response: envelopeAnswers(
          200,
          AgentClientView,
          [...AGENT_TOKEN_FAILURES, ...INPUT_FAILURES],
          ["OAUTH_INVALID_JWKS"],
        ),
        detail: {
          summary: "Agent: register public keys for private_key_jwt (client id = agent id)",
          description:
            "Replaces the agent's key set: public RSA (≥ 2048 bits, RS256) or EC P-256 (ES256) keys. " +
            "Rotating the agent token voids them; register them again with the new token.",
          operationId: "registerAgentKeys",
          security: AGENT_TOKEN,
        },
      },
    );
}
