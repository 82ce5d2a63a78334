/**
 * One revocation, as the server stores it and as sites read it (the signed
 * list's entries and the `revoked` event carry the same JSON):
 *
 * - `{"kind": "agent", "agent_id", "at"}`: the agent was revoked; every
 *   passport of it (site login, self-service, binding) is refused.
 * - `{"kind": "agent_token", "agent_id", "at"}`: the agent's token was
 *   rotated; its passports issued before `at` (`iat < at`) are refused.
 * - `{"kind": "binding", "binding_id", "at"}`: the binding was revoked; its
 *   binding passports are refused.
 *
 * `at` is a NumericDate (whole seconds), like the `iat` it is compared with.
 */

export type RevocationKind = "agent" | "agent_token" | "binding";

export interface Revocation {
  kind: RevocationKind;
  /** The agent id, or the binding id for `binding`. */
  subjectId: string;
  /** When it was revoked, epoch ms. */
  revokedAt: number;
  /** When every passport it covers has expired (epoch ms): the entry leaves the list then. */
  expiresAt: number;
}

export type RevocationWire =
  | { kind: "agent" | "agent_token"; agent_id: string; at: number }
  | { kind: "binding"; binding_id: string; at: number };

export function revocationWire(
  revocation: Pick<Revocation, "kind" | "subjectId" | "revokedAt">,
): RevocationWire {
  const at = Math.floor(revocation.revokedAt / 1000);
  return revocation.kind === "binding"
    ? { kind: "binding", binding_id: revocation.subjectId, at }
    : { kind: revocation.kind, agent_id: revocation.subjectId, at };
}
