import { Elysia, t } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import { ok } from "../../http/envelope.ts";
import { RegisterAgentBody } from "./schemas.ts";
import {
  authenticateAgent,
  presentAgent,
  presentAgentProfile,
  registerAgent,
  revokeAgent,
  rotateAgentToken,
} from "./service.ts";

const AgentParams = t.Object({ agent_id: t.String({ format: "uuid" }) });
const AgentTokenHeaders = t.Object({ "x-agent-token": t.Optional(t.String()) });

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
        detail: { summary: "Register an agent; the agent_token is shown only here" },
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
      { detail: { summary: "The owner's agents" } },
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
      { headers: AgentTokenHeaders, detail: { summary: "The calling agent's profile (X-Agent-Token)" } },
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
      { params: AgentParams, detail: { summary: "Rotate the agent token (the old one stops at once)" } },
    )
    .delete(
      "/:agent_id",
      async ({ params, request, set }) => {
        const { user } = await requireOwner(ctx, request);
        await revokeAgent(ctx.agents, user, params.agent_id, clientAddress(request, config.trustProxy));
        set.status = 204;
        return null;
      },
      { params: AgentParams, detail: { summary: "Revoke the agent; its token fails at once" } },
    );
}
