import { bytesToHex } from "./hex.ts";

/**
 * A fresh challenge: 32 bytes from the platform CSPRNG as 64 lowercase hex
 * characters, the only form `verify` and `solve` accept.
 *
 * @example const challenge = createChallenge(); // "9f86d081884c7d65..."
 */
export function createChallenge(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}
