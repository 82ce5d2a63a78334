import { Elysia, t } from "elysia";
import { isoTime } from "../../clock.ts";
import type { AppContext } from "../../context.ts";
import { clientAddress } from "../../http/client-address.ts";
import { ok } from "../../http/envelope.ts";
import { authenticateAgent } from "../agents/service.ts";
import { issueSelfServicePassport } from "./service.ts";

const PassportBody = t.Optional(
  t.Object({ audience: t.Optional(t.String({ minLength: 1, maxLength: 256, pattern: "^[\\x21-\\x7e]+$" })) }),
);

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
        token_type: "passport+jwt",
        audience: passport.audience,
        jti: passport.jti,
        issued_at: isoTime(passport.issuedAt),
        expires_at: isoTime(passport.expiresAt),
      });
    },
    {
      body: PassportBody,
      headers: t.Object({ "x-agent-token": t.Optional(t.String()) }),
      detail: { summary: "Issue a self-service passport for the calling agent (X-Agent-Token)" },
    },
  );
}
