import { encodeBase64url, encodeBase64urlText } from "../../../core/encoding/base64url.ts";
import { generateSigningKey, type SigningKey } from "../../../core/keys/index.ts";
import type { PassportClaims } from "../../../core/passport/index.ts";
import { nodeRsa } from "../../../core/passport/node-crypto.ts";
import {
  createRs256Verifier,
  type Rs256Backend,
  type Rs256Verifier,
  rs256Sign,
} from "../../../core/passport/rs256.ts";

export const ISSUER = "https://lime.test";
export const NOW = 1_800_000_000;

let shared: Promise<SigningKey> | undefined;

/** One 2048-bit key for the whole file: RSA generation is the slow part of these tests. */
export function sharedKey(): Promise<SigningKey> {
  shared ??= generateSigningKey({ extractable: true });
  return shared;
}

/** A non-extractable RSASSA-PKCS1-v1_5 pair (e = 65537) of any size and hash, for keys the signer must refuse. */
export function rsaKeyPair(modulusLength: number, hash: "SHA-1" | "SHA-256"): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash },
    false,
    ["sign", "verify"],
  );
}

export function passportClaims(overrides: Partial<PassportClaims> = {}): PassportClaims {
  return {
    iss: ISSUER,
    sub: "agent_7f3a",
    aud: "lime-passport",
    iat: NOW,
    exp: NOW + 3600,
    jti: "jti_0001",
    user_id: "user_42",
    owner_kyc_level: 2,
    agent_name: "Research bot",
    passport_version: 1,
    ...overrides,
  };
}

export function siteLoginClaims(overrides: Partial<PassportClaims> = {}): PassportClaims {
  return passportClaims({
    aud: "lime-site-login",
    exp: NOW + 120,
    request_id: "req_1",
    site_id: "site_1",
    ...overrides,
  });
}

/**
 * Signs any header and payload text as RS256 with `key`, bypassing every
 * check of `signJwt`: how the tests build tokens a correct signer would
 * never produce (missing exp, alien alg, crit, ...).
 */
export async function signRaw(
  header: object | string,
  payload: object | string,
  key: SigningKey,
): Promise<string> {
  const h = typeof header === "string" ? header : JSON.stringify(header);
  const p = typeof payload === "string" ? payload : JSON.stringify(payload);
  const input = `${encodeBase64urlText(h)}.${encodeBase64urlText(p)}`;
  const signature = await rs256Sign(key.privateKey, new TextEncoder().encode(input));
  return `${input}.${encodeBase64url(signature)}`;
}

export function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Runs `fn` and returns what it threw (or fails the test when nothing was thrown). */
export async function caught(fn: () => unknown): Promise<{ name: string; code: string; message: string }> {
  try {
    await fn();
  } catch (error) {
    return error as { name: string; code: string; message: string };
  }
  throw new Error("expected a throw");
}

/** Both RS256 backends: every vector and property that decides a verdict runs through each. */
export const RS256_BACKENDS: readonly Rs256Backend[] = ["node-crypto", "webcrypto"];

/** The public key (n, e) prepared on exactly `backend` (in Bun both exist; anything else fails the test). */
export async function rs256Verifier(
  jwk: { n: string; e: string },
  backend: Rs256Backend,
): Promise<Rs256Verifier> {
  const verifier = await createRs256Verifier(jwk.n, jwk.e, backend, await nodeRsa());
  if (verifier.backend !== backend) throw new Error(`asked for ${backend}, got ${verifier.backend}`);
  return verifier;
}
