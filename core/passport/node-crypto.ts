/**
 * The synchronous `node:crypto` RSA verify of Bun and Node, reached without
 * naming Node in `core/`: the module comes through a dynamic import with a
 * computed specifier (no Node types, and bundlers for the browser leave it
 * alone), only in a runtime that says it is Bun or Node. Deno's `node:crypto`
 * is a reimplementation and browsers have none: both keep WebCrypto.
 *
 * Why bother: WebCrypto's `verify` is asynchronous and in Bun hops to a
 * thread pool, which costs more than the RSA-2048 public operation itself
 * (measured here: `subtle.verify` p50 65–95 µs, p99 130–260 µs; `node:crypto`
 * `verify` on a KeyObject p50 ~22 µs, p99 ~60 µs). Both call the same library
 * in the same process (BoringSSL in Bun, OpenSSL in Node), so they give the
 * same answers; the tests run every Wycheproof vector through both.
 */
import { decodeBase64url } from "../encoding/base64url.ts";

/** The two functions of `node:crypto` the verifier needs, typed here so `core/` carries no Node types. */
export interface NodeRsaApi {
  createPublicKey(input: { key: JsonWebKey; format: "jwk" }): object;
  verify(algorithm: "sha256", data: Uint8Array, key: object, signature: Uint8Array): boolean;
}

/** What detection reads from the global scope. */
export interface RuntimeScope {
  Deno?: unknown;
  process?: { versions?: Record<string, string | undefined> };
}

export type ImportModule = (specifier: string) => Promise<unknown>;

/**
 * RFC 7515 A.2: a published RS256 key, signing input and signature. Detection
 * checks the module verifies it and refuses it with one bit changed, so a
 * stand-in that answers `true` (or throws) is never used.
 */
const KNOWN_KEY: JsonWebKey = {
  kty: "RSA",
  n: "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
  e: "AQAB",
};
const KNOWN_SIGNING_INPUT =
  "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const KNOWN_SIGNATURE =
  "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/**
 * Bun says `versions.bun`, Node `versions.node`, and both name the library
 * under their crypto (`boringssl`, `openssl`); a bundler's `process`
 * stand-in in a browser names none. Deno claims `node` and `openssl` too, so
 * it is recognised and left out.
 */
export function isBunOrNode(scope: RuntimeScope): boolean {
  const versions = scope.process?.versions;
  if (scope.Deno !== undefined || versions === undefined || versions.deno !== undefined) return false;
  const runtime = typeof versions.bun === "string" || typeof versions.node === "string";
  return runtime && (typeof versions.boringssl === "string" || typeof versions.openssl === "string");
}

function passesKnownAnswer(api: NodeRsaApi): boolean {
  const key = api.createPublicKey({ key: KNOWN_KEY, format: "jwk" });
  const data = new TextEncoder().encode(KNOWN_SIGNING_INPUT);
  const signature = decodeBase64url(KNOWN_SIGNATURE)!;
  if (api.verify("sha256", data, key, signature) !== true) return false;
  signature[signature.length - 1]! ^= 1;
  return api.verify("sha256", data, key, signature) === false;
}

/**
 * The `node:crypto` RSA API when this runtime is Bun or Node, its module
 * loads, and it passes the RFC 7515 A.2 known answer; otherwise undefined.
 */
export async function detectNodeRsa(
  scope: RuntimeScope,
  importModule: ImportModule,
): Promise<NodeRsaApi | undefined> {
  if (!isBunOrNode(scope)) return undefined;
  try {
    const api = (await importModule(["node", "crypto"].join(":"))) as NodeRsaApi;
    return passesKnownAnswer(api) ? api : undefined;
  } catch {
    return undefined;
  }
}

let detected: Promise<NodeRsaApi | undefined> | undefined;

/** `detectNodeRsa` for this runtime, run once and cached. */
export function nodeRsa(): Promise<NodeRsaApi | undefined> {
  detected ??= detectNodeRsa(globalThis as RuntimeScope, (specifier) => import(specifier));
  return detected;
}
