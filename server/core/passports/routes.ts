import { Elysia } from "elysia";
import { isoTime } from "../../clock.ts";
import type { AppContext } from "../../context.ts";
import { clientAddress } from "../../http/client-address.ts";
import { AGENT_TOKEN, AGENT_TOKEN_FAILURES, answers, INPUT_FAILURES } from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import { bindToAgentKey } from "../../modules/agent-keys/binding.ts";
import { PASSPORTS_PATH } from "../../modules/agent-keys/paths.ts";
import { KEY_PROOF_FAILURES, keyProofHeader } from "../../modules/agent-keys/proof.ts";
import { authenticateAgent } from "../agents/service.ts";
import { IssuedPassportView, PassportBody, PassportHeaders } from "./schemas.ts";
import { issueSelfServicePassport, selfServiceAudience } from "./service.ts";

export function passportRoutes(ctx: AppContext) {
  const { config } = ctx;
  return new Elysia({ tags: ["core"] }).post(
    PASSPORTS_PATH,
    async ({ body, request, set }) => {
      const ip = clientAddress(request, config.trustProxy);
      const agent = await authenticateAgent(ctx.agents, request.headers.get("x-agent-token"), ip);
      await ctx.rateLimiter.enforce("passports", agent.agent.id, config.rateLimits.passportsPerMinute);
      selfServiceAudience(body?.audience);
      const proof = keyProofHeader(request);
      const binding =
        proof === null
          ? null
          : await bindToAgentKey(ctx.keyBinding, agent.agent.id, proof, { path: PASSPORTS_PATH });
      const passport = await issueSelfServicePassport(ctx.passports, agent, body?.audience, ip, binding);
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
        ...KEY_PROOF_FAILURES,
        "AGENT_KEY_NOT_REGISTERED",
      ]),
      detail: {
        summary: "Issue a self-service passport for the calling agent (X-Agent-Token)",
        description:
          "A passport the agent carries to any site, valid `PASSPORT_TTL_SECONDS` (900). Rate limited per agent. " +
          "With a `DPoP` key proof made with one of the agent's ACTIVE keys the passport is bound to that key (`cnf: {jkt}`, docs/agent-keys.md); a proof that fails is refused with its code, never ignored. " +
          "Checked in this order: agent token, rate limit, audience, key proof (when sent: size, key kind, signature and claims, replay, an active key of this agent).",
        operationId: "issuePassport",
        security: AGENT_TOKEN,
      },
    },
  );
}
