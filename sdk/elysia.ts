/**
 * Elysia glue for sites: `.use(agentPassport({ issuer, audience }))` puts
 * the verified `passport` (an `AgentRequestContext`: the `PassportContext`,
 * with `signature` when the request was signed) on the context of every
 * route registered after it, and answers 401 with `WWW-Authenticate:
 * AgentPassport ...` (503 when the issuer's keys were never reachable)
 * before the handler runs. Key-bound passports need the request's Web Bot
 * Auth signature; `requireSignature: true` needs it of every request
 * (docs/web-bot-auth.md). Routes that must stay public go before the
 * `.use`, or in another instance.
 *
 * Kept out of `sdk/index.ts` so the portable SDK does not pull Elysia into
 * browsers and Workers.
 *
 * @example
 * new Elysia()
 *   .get("/health", () => "ok")
 *   .use(agentPassport({ issuer: "https://lime.example", audience: "https://shop.example" }))
 *   .get("/me", ({ passport }) => ({ agent: passport.agentId, kyc: passport.ownerKycLevel }))
 *   .listen(3000);
 */

import { Elysia } from "elysia";
import {
  createPassportGuard,
  isGuardError,
  type PassportGuard,
  type PassportGuardOptions,
  passportRefusal,
} from "./site/guard.ts";
import type { AgentRequestContext } from "./site/request-signature.ts";

export type { PassportGuardOptions } from "./site/guard.ts";

export function agentPassport(options: PassportGuardOptions) {
  const guard: PassportGuard = createPassportGuard(options);
  return new Elysia({
    name: "lime-agent-passport",
    // Elysia keeps one instance per name and seed: every option that changes what is accepted is in it.
    seed: {
      issuer: options.issuer,
      audience: options.audience,
      jwksUrl: options.jwksUrl,
      requireSignature: options.requireSignature === true,
    },
  }).resolve({ as: "scoped" }, async ({ request, set, status }) => {
    let passport: AgentRequestContext;
    try {
      passport = await guard(request);
    } catch (error) {
      if (!isGuardError(error)) throw error;
      const refusal = passportRefusal(error, guard.realm);
      Object.assign(set.headers, refusal.headers);
      return status(refusal.status, refusal.body);
    }
    return { passport };
  });
}
