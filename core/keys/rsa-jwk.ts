import { decodeBase64url } from "../encoding/base64url.ts";
import { KeyError } from "../errors.ts";
import { hasRocaFingerprint } from "./roca.ts";

/** The only JWS algorithm LIME signs and verifies (RFC 7518 §3.3). */
export const RS256 = "RS256";

/** RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used". */
export const MIN_MODULUS_BITS = 2048;

/** Beyond this an RSA operation is a denial of service, not security. */
export const MAX_MODULUS_BITS = 16384;

/** WebCrypto parameters for RS256. */
export const RS256_IMPORT_PARAMS: RsaHashedImportParams = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

/** A published RS256 verification key: exactly the members a JWKS carries. */
export interface PublicJwk {
  kty: "RSA";
  n: string;
  e: string;
  kid: string;
  alg: "RS256";
  use: "sig";
}

/** A private RS256 key as JSON, for the server to encrypt at rest. Never publish it. */
export interface PrivateJwk extends PublicJwk {
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

/** Members that make a JWK secret (RFC 7518 §6.3.2, §6.4.1). `k` is a symmetric key. */
export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

const RSA_PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"] as const;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function hasPrivateMember(jwk: Record<string, unknown>): boolean {
  return PRIVATE_MEMBERS.some((member) => jwk[member] !== undefined);
}

/** Decodes a JWK integer member (RFC 7518 §2 Base64urlUInt): canonical base64url, no leading zero octet. */
function decodeUint(jwk: Record<string, unknown>, member: string): Uint8Array {
  const value = jwk[member];
  if (typeof value !== "string" || value.length === 0) {
    throw new KeyError("KEY_INVALID", `RSA JWK member "${member}" must be a non-empty base64url string`);
  }
  const bytes = decodeBase64url(value);
  if (bytes === undefined) {
    throw new KeyError("KEY_INVALID", `RSA JWK member "${member}" is not canonical base64url`);
  }
  if (bytes[0] === 0) {
    throw new KeyError("KEY_INVALID", `RSA JWK member "${member}" has a leading zero octet`);
  }
  return bytes;
}

export function bitLength(bytes: Uint8Array): number {
  return (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
}

export function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

export interface RsaPublicParts {
  n: string;
  e: string;
  modulus: bigint;
  exponent: bigint;
  modulusBits: number;
}

/**
 * Checks the public half of an RSA JWK before any import: the modulus is odd
 * and 2048..16384 bits (KEY_TOO_SMALL below), the exponent is odd with
 * 2^16 < e < 2^256 (NIST SP 800-89 §5.3.3; e = 1 or 3 is KEY_WEAK), and the
 * modulus does not carry the ROCA fingerprint (KEY_WEAK).
 */
export function checkRsaPublicParts(jwk: Record<string, unknown>): RsaPublicParts {
  if (jwk.kty !== "RSA") throw new KeyError("KEY_UNSUPPORTED", 'only RSA keys (kty "RSA") are supported');
  const nBytes = decodeUint(jwk, "n");
  const eBytes = decodeUint(jwk, "e");
  const modulusBits = bitLength(nBytes);
  if (modulusBits < MIN_MODULUS_BITS) {
    throw new KeyError("KEY_TOO_SMALL", `RSA modulus of ${modulusBits} bits is below ${MIN_MODULUS_BITS}`);
  }
  if (modulusBits > MAX_MODULUS_BITS) {
    throw new KeyError("KEY_UNSUPPORTED", `RSA modulus of ${modulusBits} bits is above ${MAX_MODULUS_BITS}`);
  }
  if ((nBytes[nBytes.length - 1]! & 1) === 0) throw new KeyError("KEY_INVALID", "RSA modulus is even");
  const exponentBits = bitLength(eBytes);
  if ((eBytes[eBytes.length - 1]! & 1) === 0 || exponentBits < 17 || exponentBits > 256) {
    throw new KeyError("KEY_WEAK", "RSA public exponent must be odd with 2^16 < e < 2^256");
  }
  const modulus = toBigInt(nBytes);
  if (hasRocaFingerprint(modulus)) {
    throw new KeyError("KEY_WEAK", "RSA modulus has the ROCA fingerprint (CVE-2017-15361)");
  }
  return { n: jwk.n as string, e: jwk.e as string, modulus, exponent: toBigInt(eBytes), modulusBits };
}

/**
 * Checks the private members of an RSA JWK are present, canonical, and
 * belong to the modulus (RFC 8017 §3.2): n = p·q, d·e ≡ 1 modulo p−1 and
 * q−1, dp and dq are d reduced, qi·q ≡ 1 mod p. WebCrypto signs with the
 * CRT members only, so a corrupted `d` would otherwise go unnoticed until a
 * runtime that uses it; multi-prime keys are refused.
 */
export function checkRsaPrivateParts(jwk: Record<string, unknown>, modulus: bigint, exponent: bigint): void {
  if (jwk.oth !== undefined) {
    throw new KeyError("KEY_UNSUPPORTED", "multi-prime RSA keys (oth) are not supported");
  }
  const [d, p, q, dp, dq, qi] = RSA_PRIVATE_MEMBERS.map((member) => toBigInt(decodeUint(jwk, member))) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  const consistent =
    p > 1n &&
    q > 1n &&
    p * q === modulus &&
    (d * exponent) % (p - 1n) === 1n &&
    (d * exponent) % (q - 1n) === 1n &&
    dp === d % (p - 1n) &&
    dq === d % (q - 1n) &&
    (qi * q) % p === 1n;
  if (!consistent) throw new KeyError("KEY_INVALID", "the RSA private members do not belong to this modulus");
}

/**
 * Imports a checked RSA public key for RS256 verification. Not wrapped: the
 * members were validated above, and WebCrypto in Bun, Node and browsers
 * imports every such key (a bad key fails at verify time, as `false`). Deno's
 * WebCrypto is the exception: it refuses exponents above 2^33 at import,
 * which reaches the caller as Deno's own error rather than a PassportError.
 */
export function importRs256PublicKey(n: string, e: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "jwk",
    { kty: "RSA", n, e, alg: RS256, ext: true },
    RS256_IMPORT_PARAMS,
    true,
    ["verify"],
  );
}
