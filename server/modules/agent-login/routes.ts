import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { authenticateAgent } from "../../core/agents/service.ts";
import { authenticateSite, siteCredentialProblem } from "../../foundation/sites/service.ts";
import type { SiteRecord } from "../../foundation/sites/store.ts";
import { clientAddress, rateLimitKey } from "../../http/client-address.ts";
import {
  AGENT_TOKEN,
  AGENT_TOKEN_FAILURES,
  answers,
  failureResponses,
  INPUT_FAILURES,
  PUBLIC,
  SITE_TOKEN,
  SITE_TOKEN_FAILURES,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import { KEY_PROOF_FAILURES, keyProofHeader } from "../agent-keys/proof.ts";
import type { StreamAuthorization } from "./event-stream.ts";
import {
  ApproveBody,
  ApprovedLoginRequest,
  ApproveHeaders,
  CreatedLoginRequest,
  CreateLoginRequestBody,
  EventStreamHeaders,
  LoginChallenge,
  LoginRequestParams,
  LoginStreamEvent,
  SiteLoginRequestView,
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

/** Step 4's answer: a stream the handler returns as a `Response`, so it is described here by hand. */
const EVENT_STREAM_RESPONSES = {
  200: {
    description: [
      "A Server-Sent Events stream (WHATWG HTML §9.2) of every login outcome of the calling site, open until either side ends it.",
      "It starts with `retry: 3000`, then the backlog (see `Last-Event-ID`), then live outcomes; nothing is sent twice on one connection, but delivery across connections is at least once (ignore a repeated `id`).",
      "Each event is one `data:` line of JSON (its schema is the media type's `x-event-data`), with no `event:` field: branch on `type`.",
      "`approved` and `expired` outcomes carry an `id:` line (an increasing integer); `keepalive` (every `SSE_KEEPALIVE_SECONDS`) and `error` do not.",
      "An `error` frame comes last, before the server ends the stream: reconnect, and what was missed is replayed.",
    ].join(" "),
    headers: {
      "Cache-Control": { schema: { type: "string", const: "no-store" } as const },
    },
    content: {
      "text/event-stream": {
        schema: {
          type: "string",
          description: "Event-stream text; the JSON of each `data:` line is described by `x-event-data`.",
        } as const,
        "x-event-data": LoginStreamEvent,
        example: [
          "retry: 3000",
          "",
          "id: 42",
          'data: {"type":"approved","login_request_id":"6f1c2b8e-0d4a-4c1e-9b7a-3e5f2d1c0a9b","agent_passport_jwt":"eyJ…","redirect_url":null}',
          "",
          "id: 43",
          'data: {"type":"expired","login_request_id":"9a2e4c6d-8b1f-4e3a-a5c7-1d9e0f2b4c6a"}',
          "",
          'data: {"type":"keepalive"}',
          "",
          "",
        ].join("\n"),
      },
    },
  },
  ...failureResponses([...SITE_TOKEN_FAILURES, "RATE_LIMIT_EXCEEDED"]),
};

/**
 * The stream's re-check of its site token. Built here, not inline in the
 * handler: a closure made inside the async handler would hold the handler's
 * whole scope, the request among it, for as long as the stream lasts.
 */
function credentialStillHolds(ctx: AppContext, site: SiteRecord): StreamAuthorization {
  return () => siteCredentialProblem(ctx.sites, site);
}

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
          ...SITE_TOKEN_FAILURES,
          "REDIRECT_URL_NOT_ALLOWED",
          "RATE_LIMIT_EXCEEDED",
        ]),
        detail: {
          summary: "Step 1 (site): open a login request",
          description:
            "A PENDING request with a fresh proof-of-work challenge at the site's difficulty, living `LOGIN_REQUEST_TTL_SECONDS` (300). Hand its id to the agent. `redirect_url` must be an absolute http(s) URL, on the site's origin when it has one.",
          operationId: "createLoginRequest",
          security: SITE_TOKEN,
        },
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
        const { request: loginRequest, site } = await getChallenge(
          ctx.agentLogin,
          params.id,
          clientAddress(request, config.trustProxy),
        );
        return ok(presentChallenge(loginRequest, site));
      },
      {
        params: LoginRequestParams,
        response: answers(200, LoginChallenge, [
          "VALIDATION_FAILED",
          "RATE_LIMIT_EXCEEDED",
          "SITE_LOGIN_REQUEST_NOT_FOUND",
          "SITE_SUSPENDED",
          "LOGIN_REQUEST_ALREADY_APPROVED",
          "REQUEST_EXPIRED",
        ]),
        detail: {
          summary: "Step 2 (agent, public): the PoW challenge",
          description: "Answered only while the request can be approved. Rate limited per client address.",
          operationId: "getLoginChallenge",
          security: PUBLIC,
        },
      },
    )
    .post(
      "/api/v1/modules/agent-login/requests/:id/approve",
      async ({ params, body, request }) => {
        const ip = clientAddress(request, config.trustProxy);
        const agent = await authenticateAgent(ctx.agents, request.headers.get("x-agent-token"), ip);
        await rateLimiter.enforce("approvals", agent.agent.id, limits.approvalsPerMinute);
        const approved = await approveLoginRequest(
          ctx.agentLogin,
          agent,
          params.id,
          body?.pow_nonce,
          ip,
          keyProofHeader(request),
        );
        return ok(presentApproved(approved));
      },
      {
        params: LoginRequestParams,
        body: ApproveBody,
        headers: ApproveHeaders,
        response: answers(200, ApprovedLoginRequest, [
          ...INPUT_FAILURES,
          ...AGENT_TOKEN_FAILURES,
          "RATE_LIMIT_EXCEEDED",
          "MISSING_POW_NONCE",
          "SITE_LOGIN_REQUEST_NOT_FOUND",
          "SITE_SUSPENDED",
          "LOGIN_REQUEST_ALREADY_APPROVED",
          "REQUEST_EXPIRED",
          ...KEY_PROOF_FAILURES,
          "AGENT_KEY_NOT_REGISTERED",
          "INVALID_POW",
        ]),
        detail: {
          summary: "Step 3 (agent): approve with the PoW nonce",
          description:
            "Checked in this order: agent token, rate limit, nonce present, request exists, site active, still approvable, key proof (only when a `DPoP` header is sent), proof of work. A wrong nonce (INVALID_POW) or a refused key proof leaves the request PENDING; of racing approvals exactly one wins. The site's passport is signed and sent on its event stream; with a valid key proof (its `nonce` the request's `pow_challenge`, its key an ACTIVE key of the agent) the passport is bound to that key (`cnf: {jkt}`, docs/agent-keys.md).",
          operationId: "approveLoginRequest",
          security: AGENT_TOKEN,
        },
      },
    )
    .get(
      "/api/v1/modules/agent-login/events",
      async ({ request }) => {
        const site = await authenticateSite(ctx.sites, request.headers.get("x-site-token"));
        return ctx.eventStreams.open(
          site,
          request.headers.get("last-event-id"),
          // No signal: the transport cancels the body when the client goes away, and a signal kept
          // for the stream's life would cost each of 20,000 streams ~0.8 KiB (server/http/transport.ts).
          undefined,
          credentialStillHolds(ctx, site),
        );
      },
      {
        headers: EventStreamHeaders,
        detail: {
          summary: "Step 4 (site): outcomes as Server-Sent Events",
          description:
            "One stream per connection carries every outcome of the site. At most `SSE_MAX_STREAMS_PER_SITE` (8) streams per site, 256 per owner, then 429. The site token is checked again before every write; a stream whose token was rotated away or whose site was suspended or deleted ends with an `error` frame.",
          operationId: "streamLoginEvents",
          security: SITE_TOKEN,
          responses: EVENT_STREAM_RESPONSES,
        },
      },
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
        response: answers(200, SiteLoginRequestView, [
          "VALIDATION_FAILED",
          ...SITE_TOKEN_FAILURES,
          "SITE_LOGIN_REQUEST_NOT_FOUND",
        ]),
        detail: {
          summary: "Step 5 (site): status, with the passport while it is valid",
          description:
            "For a site that lost its stream. Reading does not change the status. Another site's request is SITE_LOGIN_REQUEST_NOT_FOUND.",
          operationId: "getLoginRequest",
          security: SITE_TOKEN,
        },
      },
    );
}
