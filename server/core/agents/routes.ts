import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import {
  AGENT_TOKEN,
  AGENT_TOKEN_FAILURES,
  answers,
  failureResponses,
  INPUT_FAILURES,
  OWNER_READ_FAILURES,
  OWNER_SESSION,
  OWNER_WRITE_FAILURES,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import {
  AgentList,
  AgentParams,
  AgentProfile,
  AgentTokenHeaders,
  AgentWithToken,
  RegisterAgentBody,
} from "./schemas.ts";
import {
  authenticateAgent,
  presentAgent,
  presentAgentProfile,
  registerAgent,
  revokeAgent,
  rotateAgentToken,
} from "./service.ts";

export function agentRoutes(ctx: AppContext) {
  const { config } = ctx;
  return new Elysia({ prefix: "/api/v1/core/agents", tags: ["core"] })
    .post(
      "/register",
      async ({ body, request, set }) => {
        const { user } = await requireOwner(ctx, request);
        const { agent, token } = await registerAgent(
          ctx.agents,
          user,
          { displayName: body.display_name, description: body.description, avatarUrl: body.avatar_url },
          clientAddress(request, config.trustProxy),
        );
        set.status = 201;
        return ok({ ...presentAgent(agent, ctx.clock.now()), agent_token: token });
      },
      {
        body: RegisterAgentBody,
        response: answers(201, AgentWithToken, [...INPUT_FAILURES, ...OWNER_WRITE_FAILURES]),
        detail: {
          summary: "Register an agent; the agent_token is shown only here",
          description:
            "`avatar_url` must be an absolute https URL; a blank `display_name` is VALIDATION_FAILED.",
          operationId: "registerAgent",
          security: OWNER_SESSION,
        },
      },
    )
    .get(
      "",
      async ({ request }) => {
        const { user } = await requireOwner(ctx, request);
        const now = ctx.clock.now();
        const agents = await ctx.agents.agents.listByOwner(user.id);
        return ok({ agents: agents.map((agent) => presentAgent(agent, now)) });
      },
      {
        response: answers(200, AgentList, OWNER_READ_FAILURES),
        detail: {
          summary: "The owner's agents",
          description: "Revoked agents stay listed, with `status: REVOKED` and `revoked_at`.",
          operationId: "listAgents",
          security: OWNER_SESSION,
        },
      },
    )
    .get(
      "/me/profile",
      async ({ request }) => {
        const agent = await authenticateAgent(
          ctx.agents,
          request.headers.get("x-agent-token"),
          clientAddress(request, config.trustProxy),
        );
        return ok(presentAgentProfile(agent));
      },
      {
        headers: AgentTokenHeaders,
        response: answers(200, AgentProfile, AGENT_TOKEN_FAILURES),
        detail: {
          summary: "The calling agent's profile (X-Agent-Token)",
          operationId: "getAgentProfile",
          security: AGENT_TOKEN,
        },
      },
    )
    .post(
      "/:agent_id/token",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        const { agent, token } = await rotateAgentToken(
          ctx.agents,
          user,
          params.agent_id,
          clientAddress(request, config.trustProxy),
        );
        return ok({ ...presentAgent(agent, ctx.clock.now()), agent_token: token });
      },
      {
        params: AgentParams,
        response: answers(200, AgentWithToken, [
          ...INPUT_FAILURES,
          ...OWNER_WRITE_FAILURES,
          "AGENT_NOT_FOUND",
        ]),
        detail: {
          summary: "Rotate the agent token (the old one stops at once)",
          description:
            "Only an ACTIVE agent of the caller's; any other id is AGENT_NOT_FOUND. Takes no body.",
          operationId: "rotateAgentToken",
          security: OWNER_SESSION,
        },
      },
    )
    .delete(
      "/:agent_id",
      async ({ params, request, set }) => {
        const { user } = await requireOwner(ctx, request);
        await revokeAgent(ctx.agents, user, params.agent_id, clientAddress(request, config.trustProxy));
        set.status = 204;
        return null;
      },
      {
        params: AgentParams,
        // A 204 has no body for Elysia to check: the answer is described by hand.
        detail: {
          summary: "Revoke the agent; its token fails at once",
          description:
            "From the next request on, its token is refused with AGENT_REVOKED. Only an ACTIVE agent of the caller's; any other id (an already revoked one too) is AGENT_NOT_FOUND.",
          operationId: "revokeAgent",
          security: OWNER_SESSION,
          responses: {
            204: { description: "Revoked; no body." },
            ...failureResponses(["VALIDATION_FAILED", ...OWNER_WRITE_FAILURES, "AGENT_NOT_FOUND"]),
          },
        },
      },
    );
}
