import { PowError } from "../errors.ts";
import { assertChallenge, assertDifficulty, isCanonicalNonce } from "./form.ts";
import { bytesToHex } from "./hex.ts";
import { sha256 } from "./sha256.ts";

const encoder = new TextEncoder();

function hasLeadingZeroBits(digest: Uint8Array, bits: number): boolean {
  const fullBytes = bits >> 3;
  for (let i = 0; i < fullBytes; i++) if (digest[i] !== 0) return false;
  const rest = bits & 7;
  return rest === 0 || digest[fullBytes]! >> (8 - rest) === 0;
}

/**
 * Checks a proof-of-work solution: SHA-256 over the UTF-8 bytes of
 * `challenge + nonce` must have at least `difficulty` leading zero bits.
 *
 * Order: the challenge and difficulty are the caller's own values, so a
 * malformed one throws (`POW_INVALID_CHALLENGE`, `POW_INVALID_DIFFICULTY`);
 * the nonce comes from the client, so a non-canonical one (sign, leading zero,
 * spaces, more than 20 digits, above 2^64 - 1, not a string) is simply `false`.
 * Only then one SHA-256, computed by the pure-TS implementation that shares
 * nothing with the solver kernel. Synchronous; expiry, binding and single use
 * are the server's job around this call.
 *
 * @example verify(challenge, 15, "48213") // true when sha256(challenge + "48213") starts with 15 zero bits
 */
export function verify(challenge: string, difficulty: number, nonce: string): boolean {
  assertChallenge(challenge);
  assertDifficulty(difficulty);
  if (!isCanonicalNonce(nonce)) return false;
  return hasLeadingZeroBits(sha256(encoder.encode(challenge + nonce)), difficulty);
}

/**
 * The hex digest `verify` reads, for docs, logs and diagnostics. Throws
 * `POW_INVALID_NONCE` for a non-canonical nonce, since its digest means nothing
 * on the wire.
 *
 * @example powDigestHex("00".repeat(32), "0") // 64 hex characters
 */
export function powDigestHex(challenge: string, nonce: string): string {
  assertChallenge(challenge);
  if (!isCanonicalNonce(nonce)) {
    throw new PowError("POW_INVALID_NONCE", "nonce must be a canonical decimal string of at most 2^64 - 1");
  }
  return bytesToHex(sha256(encoder.encode(challenge + nonce)));
}
