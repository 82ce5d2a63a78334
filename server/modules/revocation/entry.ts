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
 * - `{"kind": "agent_key", "agent_id", "jkt", "at"}`: one of the agent's
 *   signing keys was revoked; passports bound to it (`cnf.jkt` equal to
 *   `jkt`) are refused (docs/agent-keys.md).
 *
 * `at` is a NumericDate (whole seconds), like the `iat` it is compared with.
 */

export type RevocationKind = "agent" | "agent_token" | "binding" | "agent_key";

export interface Revocation {
  kind: RevocationKind;
  /** The agent id; the binding id for `binding`; the key's thumbprint (its `jkt`) for `agent_key`. */
  subjectId: string;
  /**
   * `agent_key` only: the agent the key belonged to. A thumbprint is never
   * registered twice (docs/decisions/agent-keys.md), so the thumbprint alone
   * identifies the entry and this column only carries it to the wire.
   */
  agentId?: string;
  /** When it was revoked, epoch ms. */
  revokedAt: number;
  /** When every passport it covers has expired (epoch ms): the entry leaves the list then. */
  expiresAt: number;
}

export type RevocationWire =
  | { kind: "agent" | "agent_token"; agent_id: string; at: number }
  | { kind: "binding"; binding_id: string; at: number }
  | { kind: "agent_key"; agent_id: string; jkt: string; at: number };

export function revocationWire(
  revocation: Pick<Revocation, "kind" | "subjectId" | "agentId" | "revokedAt">,
): RevocationWire {
  const at = Math.floor(revocation.revokedAt / 1000);
  switch (revocation.kind) {
    case "binding":
      return { kind: "binding", binding_id: revocation.subjectId, at };
    case "agent_key":
      return { kind: "agent_key", agent_id: revocation.agentId ?? "", jkt: revocation.subjectId, at };
    default:
      return { kind: revocation.kind, agent_id: revocation.subjectId, at };
  }
}
