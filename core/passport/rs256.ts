import { KeyError } from "../errors.ts";
import { MIN_MODULUS_BITS } from "../keys/rsa-jwk.ts";

/** WebCrypto name of RSASSA-PKCS1-v1_5 (RFC 8017 §8.2); with SHA-256 it is JWS RS256. */
export const RSASSA_PKCS1_V1_5 = "RSASSA-PKCS1-v1_5";

function checkRs256Key(key: CryptoKey, type: KeyType, usage: KeyUsage): void {
  const algorithm = key.algorithm as RsaHashedKeyAlgorithm;
  if (
    key.type !== type ||
    algorithm.name !== RSASSA_PKCS1_V1_5 ||
    algorithm.hash?.name !== "SHA-256" ||
    !key.usages.includes(usage)
  ) {
    throw new KeyError("KEY_UNSUPPORTED", `expected an RS256 ${type} key allowed to ${usage}`);
  }
  if (algorithm.modulusLength < MIN_MODULUS_BITS) {
    throw new KeyError(
      "KEY_TOO_SMALL",
      `RSA modulus of ${algorithm.modulusLength} bits is below ${MIN_MODULUS_BITS}`,
    );
  }
}

/**
 * RS256 signature of `data` (RFC 7518 §3.3). Deterministic: the same key and
 * data always give the same bytes, which is what the RFC 7515 A.2 and
 * Wycheproof sig-gen tests compare.
 */
export async function rs256Sign(privateKey: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  checkRs256Key(privateKey, "private", "sign");
  return new Uint8Array(await crypto.subtle.sign(RSASSA_PKCS1_V1_5, privateKey, data));
}

/** Checks an RS256 signature; `false` for any wrong or malformed signature, never a throw. */
export function rs256Verify(
  publicKey: CryptoKey,
  signature: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  checkRs256Key(publicKey, "public", "verify");
  return crypto.subtle.verify(RSASSA_PKCS1_V1_5, publicKey, signature, data);
}
