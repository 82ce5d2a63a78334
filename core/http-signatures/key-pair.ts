import { decodeBase64url } from "../encoding/base64url.ts";
import { KeyError } from "../errors.ts";
import { isPlainObject } from "../keys/rsa-jwk.ts";
import {
  type AgentKeyAlgorithm,
  type AgentPublicJwk,
  agentKeyThumbprint,
  checkAgentPublicJwk,
  ECDSA_P256,
  ED25519,
  importAgentPublicKey,
  profileOf,
} from "./agent-key.ts";

/** An agent's signing key: the private half as a WebCrypto key, the public half as a JWK, and its kid. */
export interface AgentKeyPair {
  /** Sign-only, non-extractable unless the key was made or imported with `{ extractable: true }`. */
  privateKey: CryptoKey;
  publicJwk: AgentPublicJwk;
  /** RFC 7638 SHA-256 thumbprint of `publicJwk`: its signatures' `keyid`, bound passports' `cnf.jkt`. */
  kid: string;
  algorithm: AgentKeyAlgorithm;
}

export interface AgentKeyOptions {
  /** Allow `crypto.subtle.exportKey` on the private key (to store it); default false. */
  extractable?: boolean;
}

function readExtractable(options: AgentKeyOptions | undefined, label: string): boolean {
  if (options === undefined) return false;
  if (!isPlainObject(options)) throw new TypeError(`${label}: options must be an object`);
  const { extractable } = options;
  if (extractable !== undefined && typeof extractable !== "boolean") {
    throw new TypeError(`${label}: options.extractable must be a boolean`);
  }
  return extractable === true;
}

/**
 * Generates an agent key: Ed25519 by default, or ECDSA P-256. The private
 * key is non-extractable unless `{ extractable: true }`.
 *
 * @example
 * const key = await generateAgentKey();            // Ed25519
 * const p256 = await generateAgentKey("P-256");
 * key.kid; // RFC 7638 thumbprint, the keyid of its signatures
 */
export async function generateAgentKey(
  kind: "Ed25519" | "P-256" = "Ed25519",
  options?: AgentKeyOptions,
): Promise<AgentKeyPair> {
  if (kind !== "Ed25519" && kind !== "P-256") {
    throw new TypeError('generateAgentKey: kind must be "Ed25519" or "P-256"');
  }
  const extractable = readExtractable(options, "generateAgentKey");
  const profile = kind === "Ed25519" ? ED25519 : ECDSA_P256;
  const pair = (await crypto.subtle.generateKey(profile.importParams, extractable, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const exported = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const publicJwk = checkAgentPublicJwk({
    kty: exported.kty,
    crv: exported.crv,
    x: exported.x,
    y: exported.y,
  });
  return {
    privateKey: pair.privateKey,
    publicJwk,
    kid: await agentKeyThumbprint(publicJwk),
    algorithm: profile.algorithm,
  };
}

/** A fixed message signed and verified once at import, to prove `d` belongs to `x`/`y`. */
const PAIRING_PROBE = new TextEncoder().encode("lime agent key pairing probe");

/**
 * Imports an agent key from its private JWK (Ed25519 `{kty:"OKP",crv,x,d}`
 * or P-256 `{kty:"EC",crv,x,y,d}`). Refuses, with a `KeyError`: no `d`
 * (`KEY_INVALID`), another key type (`KEY_UNSUPPORTED`), a `d` that is not
 * the private half of `x`/`y` (`KEY_INVALID`, checked by signing a probe and
 * verifying it with the public half, since not every runtime checks it).
 *
 * @example
 * const key = await importAgentKey(storedPrivateJwk); // e.g. from crypto.subtle.exportKey("jwk", ...)
 */
export async function importAgentKey(
  privateJwk: JsonWebKey,
  options?: AgentKeyOptions,
): Promise<AgentKeyPair> {
  if (!isPlainObject(privateJwk)) {
    throw new KeyError("KEY_INVALID", "importAgentKey: the JWK must be an object");
  }
  const extractable = readExtractable(options, "importAgentKey");
  const { d, kty, crv, x, y, alg, use } = privateJwk as Record<string, unknown>;
  const publicJwk = checkAgentPublicJwk({ kty, crv, x, y, alg, use });
  if (typeof d !== "string" || decodeBase64url(d)?.length !== 32) {
    throw new KeyError("KEY_INVALID", 'importAgentKey: "d" must be canonical base64url of 32 bytes');
  }
  const profile = profileOf(publicJwk);
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey(
      "jwk",
      { ...publicJwk, d, ext: extractable },
      profile.importParams,
      extractable,
      ["sign"],
    );
  } catch (cause) {
    throw new KeyError("KEY_INVALID", `importAgentKey: WebCrypto refused the ${publicJwk.crv} private key`, {
      cause,
    });
  }
  const probe = await crypto.subtle.sign(profile.signParams, privateKey, PAIRING_PROBE);
  const paired = await crypto.subtle.verify(
    profile.signParams,
    await importAgentPublicKey(publicJwk),
    probe,
    PAIRING_PROBE,
  );
  if (!paired) {
    throw new KeyError("KEY_INVALID", 'importAgentKey: "d" is not the private half of this public key');
  }
  return { privateKey, publicJwk, kid: await agentKeyThumbprint(publicJwk), algorithm: profile.algorithm };
}
