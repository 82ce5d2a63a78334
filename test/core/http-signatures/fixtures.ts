import { encodeBase64url } from "../../../core/encoding/base64url.ts";
import type { AgentKeyPair } from "../../../core/http-signatures/index.ts";
import {
  type AgentPublicJwk,
  checkAgentPublicJwk,
  importAgentKey,
} from "../../../core/http-signatures/index.ts";
import vectors from "../../vectors/rfc9421/appendix-b.json" with { type: "json" };

export { vectors };

export type RfcExample = (typeof vectors.examples)[number];

export function example(section: "B.2.4" | "B.2.6"): RfcExample {
  const found = vectors.examples.find((entry) => entry.section === section);
  if (found === undefined) throw new Error(`no example ${section} in appendix-b.json`);
  return found;
}

export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * The RFC's test request as plain parts: a `Request` would do in Bun, but
 * browsers drop `Date`, `Host` and `Content-Length` from one, and the same
 * helper serves the portable suite.
 */
export function rfcRequest(extra: Record<string, string> = {}) {
  const { method, url, headers } = vectors["test-request"];
  return { method, url, headers: new Headers({ ...headers, ...extra }) };
}

export function rfcResponse(extra: Record<string, string> = {}) {
  const { status, headers } = vectors["test-response"];
  return { status, headers: new Headers({ ...headers, ...extra }) };
}

/** The RFC B.1.4 Ed25519 key as an AgentKeyPair, through its PKCS#8 and a JWK (what importAgentKey takes). */
export async function rfcEd25519Key(): Promise<AgentKeyPair> {
  const pkcs8 = base64ToBytes(vectors.keys["test-key-ed25519"].pkcs8);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  return importAgentKey(await crypto.subtle.exportKey("jwk", key));
}

/** The public JWK of an RFC key, from its SubjectPublicKeyInfo. */
export async function rfcPublicJwk(name: "test-key-ed25519" | "test-key-ecc-p256"): Promise<AgentPublicJwk> {
  const spki = base64ToBytes(vectors.keys[name].spki);
  const params = name === "test-key-ed25519" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  const key = await crypto.subtle.importKey("spki", spki, params, true, ["verify"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", key);
  return checkAgentPublicJwk(y === undefined ? { kty, crv, x } : { kty, crv, x, y });
}

/** The error a call throws or rejects with, as `{ name, code, message }`; fails when it returns. */
export async function caught(fn: () => unknown): Promise<{ name: string; code: string; message: string }> {
  try {
    await fn();
  } catch (error) {
    const { name, message } = error as Error;
    return { name, code: String((error as { code?: unknown }).code), message };
  }
  throw new Error("expected a throw, none came");
}

export function randomNonce(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
}
