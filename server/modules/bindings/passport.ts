/**
 * The binding passport: what the site receives in the browser's redirect
 * once the user picked an agent. RS256 from the ring's CURRENT key (the
 * JWKS every site already reads), `typ` "binding+jwt", `aud`
 * "lime-binding", 60 s: LIME's `verify_binding_passport` refuses longer.
 * The claim profile is core's (core/passport/binding.ts, docs/passport-claims.md).
 */

import {
  BINDING_AUDIENCE,
  BINDING_MAX_LIFETIME_SECONDS,
  BINDING_PASSPORT_VERSION,
  signBindingPassport,
} from "@lime-ts/core/passport";
import type { AgentRecord } from "../../core/agents/store.ts";
import type { IssuedPassport, PassportDeps } from "../../core/passports/service.ts";
import type { AuditEntry } from "../../foundation/audit/service.ts";
import type { UserRecord } from "../../foundation/users/store.ts";

export interface BindingPassportSubject {
  bindingId: string;
  siteId: string;
  agent: AgentRecord;
  owner: UserRecord;
}

export async function issueBindingPassport(
  deps: Pick<PassportDeps, "clock" | "keyRing" | "issuer" | "metrics">,
  { bindingId, siteId, agent, owner }: BindingPassportSubject,
): Promise<IssuedPassport> {
  const iat = Math.floor(deps.clock.now() / 1000);
  const exp = iat + BINDING_MAX_LIFETIME_SECONDS;
  const jti = crypto.randomUUID();
  const jwt = await signBindingPassport(
    {
      iss: deps.issuer,
      sub: agent.id,
      aud: BINDING_AUDIENCE,
      iat,
      exp,
      jti,
      binding_id: bindingId,
      // LIME's SDK renames `sub` to `agent_id` only when `agent_id` is absent; sending both says the same.
      agent_id: agent.id,
      user_id: owner.id,
      site_id: siteId,
      user_kyc_level: owner.kycLevel,
      agent_reputation: agent.reputation,
      passport_version: BINDING_PASSPORT_VERSION,
    },
    deps.keyRing.current(),
  );
  deps.metrics?.passportIssued("binding");
  return { jwt, jti, audience: BINDING_AUDIENCE, issuedAt: iat * 1000, expiresAt: exp * 1000 };
}

/** `passport.issued` in the agent owner's trail, as for the other passports; the JWT itself is never logged. */
export function bindingPassportIssued(
  owner: UserRecord,
  passport: IssuedPassport,
  ip: string | null,
): AuditEntry {
  return {
    ownerId: owner.id,
    actorType: "owner",
    actorId: owner.id,
    action: "passport.issued",
    targetType: "passport",
    targetId: passport.jti,
    reason: "binding",
    ip,
  };
}
