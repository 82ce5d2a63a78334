import { decodeBase64url, encodeBase64url } from "../encoding/base64url.ts";
import { KeyError } from "../errors.ts";
import { isPlainObject } from "../keys/rsa-jwk.ts";

/** RFC 9421 §6.2.2 names of the two signature algorithms an agent key may use. */
export type AgentKeyAlgorithm = "ed25519" | "ecdsa-p256-sha256";

/** The public JWK of an agent key: Ed25519 (RFC 8037) or ECDSA P-256 (RFC 7518 §6.2), public members only. */
export interface AgentPublicJwk {
  kty: "OKP" | "EC";
  crv: "Ed25519" | "P-256";
  x: string;
  y?: string;
}

/** What each algorithm needs from WebCrypto and JOSE, in one table so the two never disagree. */
export interface AlgorithmProfile {
  algorithm: AgentKeyAlgorithm;
  jwsAlg: "EdDSA" | "ES256";
  kty: "OKP" | "EC";
  crv: "Ed25519" | "P-256";
  importParams: AlgorithmIdentifier | EcKeyImportParams;
  signParams: AlgorithmIdentifier | EcdsaParams;
}

export const ED25519: AlgorithmProfile = {
  algorithm: "ed25519",
  jwsAlg: "EdDSA",
  kty: "OKP",
  crv: "Ed25519",
  importParams: { name: "Ed25519" },
  signParams: { name: "Ed25519" },
};

export const ECDSA_P256: AlgorithmProfile = {
  algorithm: "ecdsa-p256-sha256",
  jwsAlg: "ES256",
  kty: "EC",
  crv: "P-256",
  importParams: { name: "ECDSA", namedCurve: "P-256" },
  signParams: { name: "ECDSA", hash: "SHA-256" },
};

/** Both curves have 32-byte coordinates (RFC 8037 §2, RFC 7518 §6.2.1.2). */
const COORDINATE_BYTES = 32;

/** Members that only a private or symmetric JWK carries (RFC 7517 §7, RFC 7518 §6). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** The profile of a checked public JWK. */
export function profileOf(jwk: AgentPublicJwk): AlgorithmProfile {
  return jwk.kty === "OKP" ? ED25519 : ECDSA_P256;
}

/**
 * The RFC 9421 algorithm of an agent key: `ed25519` for an OKP Ed25519 key,
 * `ecdsa-p256-sha256` for an EC P-256 key.
 *
 * @example
 * algorithmOf({ kty: "OKP", crv: "Ed25519", x }) // "ed25519"
 */
export function algorithmOf(jwk: AgentPublicJwk): AgentKeyAlgorithm {
  return profileOf(checkAgentPublicJwk(jwk)).algorithm;
}

/**
 * Checks that `jwk` is a public Ed25519 or P-256 key LIME accepts for an
 * agent, and returns a copy holding only `kty`, `crv`, `x` (and `y`), so no
 * `alg`, `kid` or extension member travels further. Throws `KeyError`:
 * `KEY_PRIVATE_MATERIAL` when it carries `d` (or any private member),
 * `KEY_UNSUPPORTED` for another key type or curve, or an `alg`/`use` that
 * says the key is for something else, `KEY_INVALID` for coordinates that are
 * not canonical base64url of 32 bytes. Whether a P-256 point lies on the
 * curve is checked where the key is imported (WebCrypto refuses it).
 *
 * @example
 * checkAgentPublicJwk({ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" })
 */
export function checkAgentPublicJwk(jwk: unknown): AgentPublicJwk {
  if (!isPlainObject(jwk)) throw new KeyError("KEY_INVALID", "the agent key must be a JWK object");
  if (PRIVATE_MEMBERS.some((member) => jwk[member] !== undefined)) {
    throw new KeyError("KEY_PRIVATE_MATERIAL", "an agent public key must not carry private members");
  }
  const profile =
    jwk.kty === "OKP" && jwk.crv === "Ed25519"
      ? ED25519
      : jwk.kty === "EC" && jwk.crv === "P-256"
        ? ECDSA_P256
        : undefined;
  if (profile === undefined) {
    throw new KeyError("KEY_UNSUPPORTED", "an agent key must be OKP Ed25519 or EC P-256");
  }
  // A JWK that names another algorithm or use was published for something else (Wycheproof
  // json_web_key_test "wrong_algorithm", "invalid_use"). The fully specified "Ed25519" of
  // draft-ietf-jose-fully-specified-algorithms is the same key as "EdDSA".
  const acceptedAlgs: unknown[] = profile === ED25519 ? ["EdDSA", "Ed25519"] : ["ES256"];
  if (jwk.alg !== undefined && !acceptedAlgs.includes(jwk.alg)) {
    throw new KeyError("KEY_UNSUPPORTED", `the key's "alg" does not match ${profile.crv}`);
  }
  if (jwk.use !== undefined && jwk.use !== "sig") {
    throw new KeyError("KEY_UNSUPPORTED", 'an agent key\'s "use" must be "sig"');
  }
  // RFC 7517 §4.3: a public key whose key_ops leave out "verify" is not one to verify with
  // (Wycheproof json_web_signature_test "rejectWrongKeyOps").
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) {
    throw new KeyError("KEY_UNSUPPORTED", 'an agent key\'s "key_ops" must include "verify"');
  }
  const x = readCoordinate(jwk.x, "x");
  if (profile === ED25519) {
    if (jwk.y !== undefined) throw new KeyError("KEY_INVALID", 'an Ed25519 JWK has no "y"');
    return { kty: "OKP", crv: "Ed25519", x };
  }
  return { kty: "EC", crv: "P-256", x, y: readCoordinate(jwk.y, "y") };
}

function readCoordinate(value: unknown, name: string): string {
  if (typeof value !== "string" || decodeBase64url(value)?.length !== COORDINATE_BYTES) {
    throw new KeyError("KEY_INVALID", `"${name}" must be canonical base64url of ${COORDINATE_BYTES} bytes`);
  }
  return value;
}

/**
 * The key id of an agent key: its RFC 7638 JWK thumbprint with SHA-256,
 * base64url. The hash input is the required members in lexicographic order
 * with no white space (§3.2): `crv,kty,x` for OKP (RFC 8037 §2), `crv,kty,x,y`
 * for EC. The members are base64url or fixed names, so no JSON escaping arises.
 *
 * @example
 * await agentKeyThumbprint({ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" })
 * // "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" (RFC 8037 Appendix A.3)
 */
export async function agentKeyThumbprint(jwk: AgentPublicJwk): Promise<string> {
  const key = checkAgentPublicJwk(jwk);
  const input =
    key.kty === "OKP"
      ? `{"crv":"${key.crv}","kty":"${key.kty}","x":"${key.x}"}`
      : `{"crv":"${key.crv}","kty":"${key.kty}","x":"${key.x}","y":"${key.y}"}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(input));
  return encodeBase64url(new Uint8Array(digest));
}

/** Imported verification keys, by key, so a site verifying many requests imports each key once. */
const publicKeyCache = new Map<string, Promise<CryptoKey>>();
const PUBLIC_KEY_CACHE_LIMIT = 256;

/**
 * Imports a checked public JWK for `verify`. Throws `KeyError` `KEY_INVALID`
 * when WebCrypto refuses it (for P-256, a point not on the curve).
 */
export function importAgentPublicKey(jwk: AgentPublicJwk): Promise<CryptoKey> {
  const key = checkAgentPublicJwk(jwk);
  const cacheKey = `${key.crv}:${key.x}:${key.y ?? ""}`;
  const cached = publicKeyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const profile = profileOf(key);
  const imported = crypto.subtle
    .importKey("jwk", { ...key, ext: true }, profile.importParams, true, ["verify"])
    .catch((cause: unknown) => {
      publicKeyCache.delete(cacheKey);
      throw new KeyError("KEY_INVALID", `WebCrypto refused the ${key.crv} public key`, { cause });
    });
  if (publicKeyCache.size >= PUBLIC_KEY_CACHE_LIMIT) {
    const oldest = publicKeyCache.keys().next().value;
    if (oldest !== undefined) publicKeyCache.delete(oldest);
  }
  publicKeyCache.set(cacheKey, imported);
  return imported;
}
