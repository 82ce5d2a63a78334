/**
 * The module's API in the LIME envelope: owners register the MCP servers
 * tokens are issued for, agents register the keys they authenticate with
 * (private_key_jwt) and approve their own authorization requests (LIME's
 * headless form: the agent token and the solved proof of work).
 */

import { Elysia, t } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { authenticateAgent } from "../../core/agents/service.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import { ok } from "../../http/envelope.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import { approveAsAgent } from "./authorize.ts";
import { presentAgentClient, registerAgentKeys } from "./clients.ts";
import { OAUTH_PREFIX, type OAuthDeps } from "./deps.ts";
import { envelopeFailure, OAuthError, oauthErrorResponse } from "./errors.ts";
import { FormBody } from "./params.ts";
import { deleteResource, presentResource, registerResource } from "./resources.ts";
import { answeringFailures, redirect } from "./route-helpers.ts";
import { ResourceBody } from "./schemas.ts";

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
          const read = (name: string) =>
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
      { detail: { summary: "Agent self-approval: agent token + solved PoW → redirect with the code" } },
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
        detail: {
          summary: "Register an MCP server (protected resource); the introspection_token is shown once",
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
      { detail: { summary: "The owner's registered MCP servers" } },
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
        params: t.Object({ resource_id: t.String({ format: "uuid" }) }),
        detail: { summary: "Remove a registered MCP server" },
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
        body: t.Object({ keys: t.Array(t.Record(t.String(), t.Unknown()), { minItems: 1, maxItems: 5 }) }),
        headers: t.Object({ "x-agent-token": t.Optional(t.String()) }),
        detail: { summary: "Agent: register public keys for private_key_jwt (client id = agent id)" },
      },
    );
}
