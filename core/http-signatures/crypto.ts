import { type AgentPublicJwk, importAgentPublicKey, profileOf } from "./agent-key.ts";
import type { AgentKeyPair } from "./key-pair.ts";

/** Both algorithms produce 64 bytes: Ed25519 R||S (RFC 8032 §5.1.6), ECDSA P-256 r||s (RFC 9421 §3.3.4). */
export const SIGNATURE_BYTES = 64;

/**
 * Signs `data` with an agent key. WebCrypto's ECDSA output is already the
 * raw r||s concatenation RFC 9421 §3.3.4 and RFC 7518 §3.4 ask for, each
 * half zero-padded to 32 bytes, so no DER conversion is involved.
 */
export async function signBytes(
  key: AgentKeyPair,
  data: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const profile = profileOf(key.publicJwk);
  return new Uint8Array(await crypto.subtle.sign(profile.signParams, key.privateKey, data));
}

/**
 * True when `signature` is a valid signature of `data` under `publicJwk`.
 * Never throws for a bad signature, a wrong length or a key WebCrypto
 * refuses: each of those is simply not a valid signature.
 */
export async function verifyBytes(
  publicJwk: AgentPublicJwk,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array,
): Promise<boolean> {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  try {
    const key = await importAgentPublicKey(publicJwk);
    return await crypto.subtle.verify(profileOf(publicJwk).signParams, key, new Uint8Array(signature), data);
  } catch {
    return false;
  }
}
