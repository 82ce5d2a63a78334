// Independent references for the PoW tests: node:crypto and @noble/hashes,
// never core/pow's own SHA-256.
import { createHash } from "node:crypto";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

export interface PowVector {
  challenge: string;
  difficulty: number;
  nonce: string;
  digest: string;
}

export const nodeDigestHex = (challenge: string, nonce: string): string =>
  createHash("sha256")
    .update(challenge + nonce)
    .digest("hex");

export const nobleDigestHex = (challenge: string, nonce: string): string =>
  Buffer.from(nobleSha256(new TextEncoder().encode(challenge + nonce))).toString("hex");

/** Leading zero bits of a hex digest, read nibble by nibble. */
export function leadingZeroBitsHex(digestHex: string): number {
  let bits = 0;
  for (const char of digestHex) {
    const nibble = Number.parseInt(char, 16);
    if (nibble !== 0) return bits + Math.clz32(nibble) - 28;
    bits += 4;
  }
  return bits;
}

/** The validity rule, spelled out on top of @noble/hashes. */
export const nobleIsValid = (challenge: string, difficulty: number, nonce: string): boolean =>
  leadingZeroBitsHex(nobleDigestHex(challenge, nonce)) >= difficulty;

/** Smallest valid nonce by plain sequential search with node:crypto. */
export function nodeSmallestNonce(challenge: string, difficulty: number, from = 0): string {
  for (let n = from; ; n++) {
    if (leadingZeroBitsHex(nodeDigestHex(challenge, String(n))) >= difficulty) return String(n);
  }
}

/** sha256("<label>-<i>") as hex: reproducible challenges for tests and benches. */
export const seededChallenge = (label: string, i: number): string =>
  createHash("sha256").update(`${label}-${i}`).digest("hex");
