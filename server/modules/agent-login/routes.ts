import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { authenticateAgent } from "../../core/agents/service.ts";
import { authenticateSite, siteCredentialProblem } from "../../foundation/sites/service.ts";
import { clientAddress, rateLimitKey } from "../../http/client-address.ts";
import { answers, INPUT_FAILURES, SITE_TOKEN } from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import {
  AgentTokenHeaders,
  ApproveBody,
  CreatedLoginRequest,
  CreateLoginRequestBody,
  EventStreamHeaders,
  LoginRequestParams,
  SiteTokenHeaders,
} from "./schemas.ts";
import {
  approveLoginRequest,
  createLoginRequest,
  getChallenge,
  getLoginRequestForSite,
  presentApproved,
  presentChallenge,
  presentCreated,
  presentForSite,
} from "./service.ts";

export function agentLoginRoutes(ctx: AppContext) {
  const { config, rateLimiter } = ctx;
  const limits = config.rateLimits;
  const tags = ["agent-login"];

  return new Elysia({ tags })
    .post(
      "/api/v1/modules/agent-login/requests",
      async ({ body, request, set }) => {
        const site = await authenticateSite(ctx.sites, request.headers.get("x-site-token"));
        await rateLimiter.enforce("login-requests", site.id, limits.loginRequestsPerMinute);
        const created = await createLoginRequest(
          ctx.agentLogin,
          site,
          { redirectUrl: body?.redirect_url },
          clientAddress(request, config.trustProxy),
        );
        set.status = 201;
        return ok(presentCreated(created));
      },
      {
        body: CreateLoginRequestBody,
        headers: SiteTokenHeaders,
        response: answers(201, CreatedLoginRequest, [
          ...INPUT_FAILURES,
          "SITE_TOKEN_MISSING",
          "SITE_TOKEN_INVALID",
          "SITE_SUSPENDED",
          "REDIRECT_URL_NOT_ALLOWED",
          "RATE_LIMIT_EXCEEDED",
        ]),
        detail: { summary: "Step 1 (site): open a login request", security: SITE_TOKEN },
      },
    )
    .get(
      "/api/v1/auth/requests/:id",
      async ({ params, request }) => {
        await rateLimiter.enforce(
          "challenges",
          rateLimitKey(clientAddress(request, config.trustProxy)),
          limits.challengeFetchesPerMinute,
        );
        const { request: loginRequest, site } = await getChallenge(ctx.agentLogin, params.id);
        return ok(presentChallenge(loginRequest, site));
      },
      { params: LoginRequestParams, detail: { summary: "Step 2 (agent, public): the PoW challenge" } },
    )
    .post(
      "/api/v1/modules/agent-login/requests/:id/approve",
      async ({ params, body, request }) => {
        const ip = clientAddress(request, config.trustProxy);
        const agent = await authenticateAgent(ctx.agents, request.headers.get("x-agent-token"), ip);
        await rateLimiter.enforce("approvals", agent.agent.id, limits.approvalsPerMinute);
        const approved = await approveLoginRequest(ctx.agentLogin, agent, params.id, body?.pow_nonce, ip);
        return ok(presentApproved(approved));
      },
      {
        params: LoginRequestParams,
        body: ApproveBody,
        headers: AgentTokenHeaders,
        detail: { summary: "Step 3 (agent): approve with the PoW nonce" },
      },
    )
    .get(
      "/api/v1/modules/agent-login/events",
      async ({ request }) => {
        const site = await authenticateSite(ctx.sites, request.headers.get("x-site-token"));
        return ctx.eventStreams.open(site, request.headers.get("last-event-id"), request.signal, () =>
          siteCredentialProblem(ctx.sites, site),
        );
      },
      { headers: EventStreamHeaders, detail: { summary: "Step 4 (site): outcomes as Server-Sent Events" } },
    )
    .get(
      "/api/v1/modules/agent-login/requests/:id",
      async ({ params, request }) => {
        const site = await authenticateSite(ctx.sites, request.headers.get("x-site-token"));
        const loginRequest = await getLoginRequestForSite(ctx.agentLogin, site, params.id);
        return ok(presentForSite(loginRequest, ctx.clock.now()));
      },
      {
        params: LoginRequestParams,
        headers: SiteTokenHeaders,
        detail: { summary: "Step 5 (site): status, with the passport while it is valid" },
      },
    );
}
