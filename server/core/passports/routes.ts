import { Elysia } from "elysia";
import { isoTime } from "../../clock.ts";
import type { AppContext } from "../../context.ts";
import { clientAddress } from "../../http/client-address.ts";
import { AGENT_TOKEN, AGENT_TOKEN_FAILURES, answers, INPUT_FAILURES } from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import { authenticateAgent } from "../agents/service.ts";
import { IssuedPassportView, PassportBody, PassportHeaders } from "./schemas.ts";
import { issueSelfServicePassport } from "./service.ts";

export function passportRoutes(ctx: AppContext) {
  const { config } = ctx;
  return new Elysia({ tags: ["core"] }).post(
    "/api/v1/core/passports",
    async ({ body, request, set }) => {
      const ip = clientAddress(request, config.trustProxy);
      const agent = await authenticateAgent(ctx.agents, request.headers.get("x-agent-token"), ip);
      await ctx.rateLimiter.enforce("passports", agent.agent.id, config.rateLimits.passportsPerMinute);
      const passport = await issueSelfServicePassport(ctx.passports, agent, body?.audience, ip);
      set.status = 201;
      return ok({
        passport: passport.jwt,
        token_type: "passport+jwt" as const,
        audience: passport.audience,
        jti: passport.jti,
        issued_at: isoTime(passport.issuedAt),
        expires_at: isoTime(passport.expiresAt),
      });
    },
    {
      body: PassportBody,
      headers: PassportHeaders,
      response: answers(201, IssuedPassportView, [
        ...INPUT_FAILURES,
        ...AGENT_TOKEN_FAILURES,
        "RATE_LIMIT_EXCEEDED",
        "AUDIENCE_RESERVED",
      ]),
      detail: {
        summary: "Issue a self-service passport for the calling agent (X-Agent-Token)",
        description:
          "A passport the agent carries to any site, valid `PASSPORT_TTL_SECONDS` (900). Rate limited per agent.",
        operationId: "issuePassport",
        security: AGENT_TOKEN,
      },
    },
  );
}
