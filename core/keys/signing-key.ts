import { KeyError } from "../errors.ts";
import {
  checkRsaPrivateParts,
  checkRsaPublicParts,
  importRs256PublicKey,
  isPlainObject,
  MAX_MODULUS_BITS,
  MIN_MODULUS_BITS,
  type PrivateJwk,
  type PublicJwk,
  RS256,
  RS256_IMPORT_PARAMS,
} from "./rsa-jwk.ts";
import { computeKid } from "./thumbprint.ts";

/**
 * An RS256 signing key. `privateKey` is non-extractable unless the server
 * asked for an extractable one to encrypt it at rest; `publicJwk` is what
 * the JWKS publishes.
 */
export interface SigningKey {
  readonly kid: string;
  readonly alg: "RS256";
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

export interface GenerateSigningKeyOptions {
  /** RSA modulus in bits; 2048 (default) to 16384, a multiple of 8. Below 2048 is KEY_TOO_SMALL. */
  modulusLength?: number;
  /** Only for a server that encrypts the private key at rest; default false. */
  extractable?: boolean;
}

const F4 = new Uint8Array([1, 0, 1]);

/**
 * Generates an RS256 key pair with e = 65537 (RFC 7518 §3.3).
 *
 * @example
 * const key = await generateSigningKey(); // 2048-bit, non-extractable private key
 * key.kid // RFC 7638 thumbprint of key.publicJwk
 */
export async function generateSigningKey(options: GenerateSigningKeyOptions = {}): Promise<SigningKey> {
  if (!isPlainObject(options)) {
    throw new KeyError("KEY_INVALID_OPTION", "generateSigningKey: options must be an object");
  }
  const { modulusLength = MIN_MODULUS_BITS, extractable = false } = options;
  if (typeof modulusLength !== "number" || !Number.isInteger(modulusLength) || modulusLength % 8 !== 0) {
    throw new KeyError(
      "KEY_INVALID_OPTION",
      "generateSigningKey: modulusLength must be an integer multiple of 8",
    );
  }
  if (modulusLength < MIN_MODULUS_BITS) {
    throw new KeyError("KEY_TOO_SMALL", `generateSigningKey: modulusLength below ${MIN_MODULUS_BITS}`);
  }
  if (modulusLength > MAX_MODULUS_BITS) {
    throw new KeyError("KEY_INVALID_OPTION", `generateSigningKey: modulusLength above ${MAX_MODULUS_BITS}`);
  }
  if (typeof extractable !== "boolean") {
    throw new KeyError("KEY_INVALID_OPTION", "generateSigningKey: extractable must be a boolean");
  }
  const pair = await crypto.subtle.generateKey(
    { ...RS256_IMPORT_PARAMS, modulusLength, publicExponent: F4 },
    extractable,
    ["sign", "verify"],
  );
  const exported = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return buildSigningKey(pair.privateKey, pair.publicKey, exported.n!, exported.e!);
}

async function buildSigningKey(
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  n: string,
  e: string,
): Promise<SigningKey> {
  const kid = await computeKid({ kty: "RSA", n, e });
  const publicJwk: PublicJwk = Object.freeze({ kty: "RSA", n, e, kid, alg: RS256, use: "sig" });
  return Object.freeze({ kid, alg: RS256, privateKey, publicKey, publicJwk });
}

/** True when `value` has the shape of a `SigningKey` (CryptoKeys of the right kind). */
export function isSigningKey(value: unknown): value is SigningKey {
  if (!isPlainObject(value)) return false;
  const { privateKey, publicKey, publicJwk, kid } = value;
  return (
    typeof kid === "string" &&
    value.alg === RS256 &&
    privateKey instanceof CryptoKey &&
    privateKey.type === "private" &&
    privateKey.algorithm.name === RS256_IMPORT_PARAMS.name &&
    publicKey instanceof CryptoKey &&
    publicKey.type === "public" &&
    isPlainObject(publicJwk) &&
    publicJwk.kid === kid
  );
}

/**
 * Exports a signing key as a private JWK so the server can encrypt it at
 * rest. Only keys generated with `extractable: true` can be exported
 * (KEY_NOT_EXTRACTABLE otherwise). Never publish the result.
 *
 * @example
 * const key = await generateSigningKey({ extractable: true });
 * const sealed = await encryptAtRest(JSON.stringify(await exportPrivateJwk(key)));
 */
export async function exportPrivateJwk(key: SigningKey): Promise<PrivateJwk> {
  if (!isSigningKey(key)) throw new KeyError("KEY_INVALID", "exportPrivateJwk: expected a SigningKey");
  if (!key.privateKey.extractable) {
    throw new KeyError(
      "KEY_NOT_EXTRACTABLE",
      "exportPrivateJwk: the private key was created non-extractable",
    );
  }
  const jwk = await crypto.subtle.exportKey("jwk", key.privateKey);
  return {
    kty: "RSA",
    n: jwk.n!,
    e: jwk.e!,
    d: jwk.d!,
    p: jwk.p!,
    q: jwk.q!,
    dp: jwk.dp!,
    dq: jwk.dq!,
    qi: jwk.qi!,
    kid: key.kid,
    alg: RS256,
    use: "sig",
  };
}

export interface ImportSigningKeyOptions {
  /** Keep the imported private key extractable (to re-encrypt it under a new master key); default false. */
  extractable?: boolean;
}

/**
 * Imports a private JWK (as produced by `exportPrivateJwk`) as a signing key
 * with a non-extractable private key. The key is checked like a published
 * one (RSA, 2048+ bits, sane exponent), a present `kid` must equal the
 * RFC 7638 thumbprint, and the private members must belong to the modulus
 * (a corrupted record fails here, not at the first token).
 *
 * @example
 * const key = await importSigningKey(JSON.parse(await decryptAtRest(sealed)));
 */
export async function importSigningKey(
  privateJwk: unknown,
  options: ImportSigningKeyOptions = {},
): Promise<SigningKey> {
  if (!isPlainObject(options)) {
    throw new KeyError("KEY_INVALID_OPTION", "importSigningKey: options must be an object");
  }
  const { extractable = false } = options;
  if (typeof extractable !== "boolean") {
    throw new KeyError("KEY_INVALID_OPTION", "importSigningKey: extractable must be a boolean");
  }
  if (!isPlainObject(privateJwk)) {
    throw new KeyError("KEY_INVALID", "importSigningKey: the JWK must be an object");
  }
  const { n, e, modulus, exponent } = checkRsaPublicParts(privateJwk);
  checkRsaPrivateParts(privateJwk, modulus, exponent);
  if (privateJwk.alg !== undefined && privateJwk.alg !== RS256) {
    throw new KeyError("KEY_UNSUPPORTED", 'importSigningKey: the JWK "alg" must be RS256');
  }
  if (privateJwk.use !== undefined && privateJwk.use !== "sig") {
    throw new KeyError("KEY_UNSUPPORTED", 'importSigningKey: the JWK "use" must be "sig"');
  }
  const kid = await computeKid({ kty: "RSA", n, e });
  if (privateJwk.kid !== undefined && privateJwk.kid !== kid) {
    throw new KeyError("KEY_INVALID", "importSigningKey: kid is not the RFC 7638 thumbprint of the key");
  }
  const { d, p, q, dp, dq, qi } = privateJwk as unknown as PrivateJwk;
  const [privateKey, publicKey] = await Promise.all([
    crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", n, e, d, p, q, dp, dq, qi, alg: RS256, ext: extractable },
      RS256_IMPORT_PARAMS,
      extractable,
      ["sign"],
    ),
    importRs256PublicKey(n, e),
  ]);
  return buildSigningKey(privateKey, publicKey, n, e);
}
