/**
 * Elysia glue for sites: `.use(agentPassport({ issuer, audience }))` puts
 * the verified `passport` (a `PassportContext`) on the context of every
 * route registered after it, and answers 401 with `WWW-Authenticate:
 * AgentPassport ...` (503 when the issuer's keys were never reachable)
 * before the handler runs. Routes that must stay public go before the
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

import type { PassportContext } from "@lime-ts/core/passport";
import { Elysia } from "elysia";
import {
  createPassportGuard,
  isGuardError,
  type PassportGuard,
  type PassportGuardOptions,
  passportRefusal,
} from "./site/guard.ts";

export type { PassportGuardOptions } from "./site/guard.ts";

export function agentPassport(options: PassportGuardOptions) {
  const guard: PassportGuard = createPassportGuard(options);
  return new Elysia({
    name: "lime-agent-passport",
    seed: { issuer: options.issuer, audience: options.audience, jwksUrl: options.jwksUrl },
  }).resolve({ as: "scoped" }, async ({ request, set, status }) => {
    let passport: PassportContext;
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
