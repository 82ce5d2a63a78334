/**
 * Compact JWS (RFC 7515 §7.1) with an agent key: EdDSA (RFC 8037 §3.1) or
 * ES256 (RFC 7518 §3.4, raw r||s). Only what key proofs need; LIME's
 * passports stay RS256 in core/passport.
 */
import { decodeBase64url, encodeBase64url, encodeBase64urlText } from "../encoding/base64url.ts";
import { isPlainObject } from "../keys/rsa-jwk.ts";
import { type AgentPublicJwk, profileOf } from "./agent-key.ts";
import { signBytes, verifyBytes } from "./crypto.ts";
import type { AgentKeyPair } from "./key-pair.ts";

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
  /** ASCII(BASE64URL(header) || "." || BASE64URL(payload)), the bytes the signature covers. */
  signingInput: Uint8Array<ArrayBuffer>;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes JSON from UTF-8, or `undefined` for bad UTF-8 or bad JSON. */
export function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(textDecoder.decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Splits and decodes a compact JWS, or returns `undefined` when it is not
 * three canonical base64url segments with a JSON-object header. Nothing is
 * verified here.
 */
export function decodeCompactJws(token: string): DecodedJws | undefined {
  if (typeof token !== "string") return undefined;
  const first = token.indexOf(".");
  const second = token.indexOf(".", first + 1);
  if (first <= 0 || second === -1 || token.indexOf(".", second + 1) !== -1) return undefined;
  const headerBytes = decodeBase64url(token, 0, first);
  const payload = decodeBase64url(token, first + 1, second);
  const signature = decodeBase64url(token, second + 1);
  if (headerBytes === undefined || payload === undefined || signature === undefined) return undefined;
  const header = decodeJson(headerBytes);
  if (!isPlainObject(header)) return undefined;
  const signingInput = new Uint8Array(second);
  for (let i = 0; i < second; i++) signingInput[i] = token.charCodeAt(i);
  return { header, payload, signature, signingInput };
}

/**
 * True when the JWS's `alg` is the one `publicJwk` signs with (EdDSA for
 * Ed25519, ES256 for P-256) and the signature verifies. Never throws.
 */
export async function verifyJwsSignature(jws: DecodedJws, publicJwk: AgentPublicJwk): Promise<boolean> {
  if (jws.header.alg !== profileOf(publicJwk).jwsAlg) return false;
  return verifyBytes(publicJwk, jws.signingInput, jws.signature);
}

/** Signs `payload` as a compact JWS; the header starts with the key's `alg` (`header` must not set one). */
export async function signCompactJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: AgentKeyPair,
): Promise<string> {
  const protectedHeader = { alg: profileOf(key.publicJwk).jwsAlg, ...header };
  const encodedHeader = encodeBase64urlText(JSON.stringify(protectedHeader));
  const signingInput = `${encodedHeader}.${encodeBase64urlText(JSON.stringify(payload))}`;
  const signature = await signBytes(key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${encodeBase64url(signature)}`;
}
