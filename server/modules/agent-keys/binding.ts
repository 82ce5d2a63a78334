/**
 * Key-bound passports: an optional DPoP key proof on `POST
 * /api/v1/core/passports` and on a login approval binds the passport to the
 * proof's key (`cnf: {jkt}`, RFC 7800 §3.1 with RFC 9449 §6's thumbprint
 * member). The key must be an active key of the calling agent. A proof that
 * is present but bad is refused with its code, never dropped: a client that
 * asked for a bound passport must not silently get an unbound one.
 */

import { DomainError } from "../../errors.ts";
import { issuerUrl } from "./paths.ts";
import { checkKeyProof, type KeyProofDeps } from "./proof.ts";
import type { AgentKeyStore } from "./store.ts";

export interface KeyBindingDeps extends KeyProofDeps {
  issuer: string;
  keys: Pick<AgentKeyStore, "findByKid">;
}

/** What a bound passport carries, as its `cnf` claim. */
export interface PassportKeyBinding {
  jkt: string;
}

/**
 * Checks the proof a request carried for `path` (htm POST) and that its key
 * is one of `agentId`'s active keys; `nonce`, when given, must be the proof's.
 */
export async function bindToAgentKey(
  deps: KeyBindingDeps,
  agentId: string,
  proof: string,
  expected: { path: string; nonce?: string },
): Promise<PassportKeyBinding> {
  const proven = await checkKeyProof(deps, proof, {
    htm: "POST",
    htu: issuerUrl(deps.issuer, expected.path),
    ...(expected.nonce !== undefined && { nonce: expected.nonce }),
  });
  const key = await deps.keys.findByKid(proven.kid);
  if (key === null || key.agentId !== agentId || key.revokedAt !== null) {
    throw new DomainError(
      "AGENT_KEY_NOT_REGISTERED",
      "The proof's key is not an active key of this agent; register it first.",
    );
  }
  return { jkt: key.kid };
}
