import { KeyError, PassportError } from "../errors.ts";
import { importRs256PublicKey, MIN_MODULUS_BITS } from "../keys/rsa-jwk.ts";
import type { NodeRsaApi } from "./node-crypto.ts";

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

/** Which implementation checks RS256 signatures: Bun's or Node's `node:crypto`, or WebCrypto. */
export type Rs256Backend = "node-crypto" | "webcrypto";

/** A backend to force, or "auto": `node:crypto` where it was detected (Bun, Node), else WebCrypto. */
export type Rs256BackendChoice = "auto" | Rs256Backend;

export const RS256_BACKEND_CHOICES: readonly Rs256BackendChoice[] = ["auto", "node-crypto", "webcrypto"];

/** One public key, ready to check RS256 signatures on one backend. */
export interface Rs256Verifier {
  readonly backend: Rs256Backend;
  /** `false` for any wrong or malformed signature; synchronous on "node-crypto". */
  verify(signature: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): boolean | Promise<boolean>;
}

/**
 * Prepares the public key (n, e) once for `choice`, given the `node:crypto`
 * API this runtime has (`nodeRsa()`, or undefined where there is none).
 * Forcing "node-crypto" where there is none is PASSPORT_INVALID_OPTION.
 * The key policy (size, exponent, ROCA) is the caller's: `LocalJwks` checks
 * it before any key gets here.
 */
export async function createRs256Verifier(
  n: string,
  e: string,
  choice: Rs256BackendChoice,
  api: NodeRsaApi | undefined,
): Promise<Rs256Verifier> {
  if (choice !== "webcrypto" && api !== undefined) {
    const key = api.createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" });
    return {
      backend: "node-crypto",
      verify: (signature, data) => api.verify("sha256", data, key, signature),
    };
  }
  if (choice === "node-crypto") {
    throw new PassportError("PASSPORT_INVALID_OPTION", "node:crypto is not available in this runtime");
  }
  const key = await importRs256PublicKey(n, e);
  return {
    backend: "webcrypto",
    verify: (signature, data) => crypto.subtle.verify(RSASSA_PKCS1_V1_5, key, signature, data),
  };
}
