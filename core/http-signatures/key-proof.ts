/**
 * Proof of possession of an agent key, in the format of an RFC 9449 DPoP
 * proof: a compact JWS with `typ: "dpop+jwt"`, the public key in the `jwk`
 * header, and claims binding it to one HTTP request (`htm`, `htu`), a time
 * (`iat`), a unique id (`jti`) and, when the server asks, a `nonce`.
 * LIME uses it where RFC 9449 does not go (registering a key, asking for a
 * key-bound passport), so the checks are RFC 9449 §4.3's, minus `ath` and
 * with replay left to the caller, who keeps the `jti`s it has seen.
 */
import { encodeBase64url } from "../encoding/base64url.ts";
import { SignatureError } from "../errors.ts";
import { isPlainObject } from "../keys/rsa-jwk.ts";
import { type AgentPublicJwk, agentKeyThumbprint, checkAgentPublicJwk, profileOf } from "./agent-key.ts";
import { decodeCompactJws, decodeJson, signCompactJws, verifyJwsSignature } from "./jws.ts";
import type { AgentKeyPair } from "./key-pair.ts";
import { checkKeyPair } from "./sign.ts";

/** RFC 9449 §4.2 `typ` of a DPoP proof. */
export const KEY_PROOF_TYP = "dpop+jwt";
/** A proof is a few hundred bytes; anything above this is refused before decoding. */
export const MAX_KEY_PROOF_BYTES = 8192;
/** Default and largest accepted age (and clock skew) of a proof's `iat`, in seconds. */
export const DEFAULT_KEY_PROOF_MAX_AGE_SECONDS = 60;
const MAX_KEY_PROOF_MAX_AGE_SECONDS = 300;
/** `jti` length: enough entropy to be unique (RFC 9449 §4.2: at least 96 bits), small enough to store. */
const MIN_JTI_LENGTH = 16;
const MAX_JTI_LENGTH = 128;
/** RFC 9110 §9.1 method: a token. */
const METHOD = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,32}$/;
const MAX_NONCE_LENGTH = 512;
const MAX_HTU_LENGTH = 2048;

export interface KeyProofClaims {
  /** HTTP method of the request the proof goes with, e.g. "POST". */
  htm: string;
  /** Its URL; the query and fragment are dropped (RFC 9449 §4.2). */
  htu: string;
  /** The server's nonce, when it gave one. */
  nonce?: string;
  /** Unix seconds; default now. */
  iat?: number;
  /** Unique id, 16 to 128 characters; default 16 random bytes, base64url. */
  jti?: string;
}

export interface VerifyKeyProofOptions {
  htm: string;
  htu: string;
  /** When set, the proof's `nonce` must equal it. */
  nonce?: string;
  /** The current time, Unix seconds. */
  now: number;
  /** Largest |now − iat| accepted; default 60, at most 300. */
  maxAgeSeconds?: number;
}

export interface VerifiedKeyProof {
  /** The proof's public key, members `kty`, `crv`, `x` (`y`) only. */
  jwk: AgentPublicJwk;
  /** Its RFC 7638 thumbprint. */
  kid: string;
  /** For the caller's replay check. */
  jti: string;
  iat: number;
}

/**
 * The form in which `htu` values are compared (RFC 9449 §4.3 check 9, with
 * RFC 3986 §6.2.2–§6.2.3 normalization as the WHATWG URL parser does it):
 * lowercase scheme and host, default port dropped, dot segments resolved,
 * query and fragment removed. `undefined` for anything but an absolute
 * http(s) URL without credentials.
 *
 * @example
 * normalizeHtu("HTTPS://Lime.Example:443/api/v1/keys?x=1#f") // "https://lime.example/api/v1/keys"
 */
export function normalizeHtu(htu: string): string | undefined {
  if (typeof htu !== "string" || htu.length === 0 || htu.length > MAX_HTU_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(htu);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" || url.password !== "") {
    return undefined;
  }
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function readMethod(value: unknown, label: string): string {
  if (typeof value !== "string" || !METHOD.test(value)) {
    throw new TypeError(`${label}: htm must be an HTTP method`);
  }
  return value;
}

function readHtu(value: unknown, label: string): string {
  const htu = typeof value === "string" ? normalizeHtu(value) : undefined;
  if (htu === undefined) throw new TypeError(`${label}: htu must be an absolute http(s) URL`);
  return htu;
}

function readNonce(value: unknown, label: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_NONCE_LENGTH) {
    throw new TypeError(`${label}: nonce must be a string of 1 to ${MAX_NONCE_LENGTH} characters`);
  }
  return value;
}

/**
 * Creates a proof that the holder of `key` made a request `htm htu` now
 * (RFC 9449 §4.2 format). Send it in the `DPoP` header.
 *
 * @example
 * const url = "https://lime.example/api/v1/core/agents/me/keys";
 * const proof = await createKeyProof(key, { htm: "POST", htu: url });
 * await fetch(url, { method: "POST", headers: { DPoP: proof, "X-Agent-Token": token } });
 */
export async function createKeyProof(key: AgentKeyPair, claims: KeyProofClaims): Promise<string> {
  checkKeyPair(key, "createKeyProof");
  if (!isPlainObject(claims)) throw new TypeError("createKeyProof: claims must be an object");
  const htm = readMethod(claims.htm, "createKeyProof");
  const htu = readHtu(claims.htu, "createKeyProof");
  const nonce = readNonce(claims.nonce, "createKeyProof");
  const iat = claims.iat ?? Math.floor(Date.now() / 1000);
  if (typeof iat !== "number" || !Number.isInteger(iat) || iat < 0) {
    throw new TypeError("createKeyProof: iat must be a non-negative integer of Unix seconds");
  }
  const jti = claims.jti ?? encodeBase64url(crypto.getRandomValues(new Uint8Array(16)));
  if (typeof jti !== "string" || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    throw new TypeError(
      `createKeyProof: jti must be a string of ${MIN_JTI_LENGTH} to ${MAX_JTI_LENGTH} characters`,
    );
  }
  const payload: Record<string, unknown> = { jti, htm, htu, iat };
  if (nonce !== undefined) payload.nonce = nonce;
  return signCompactJws({ typ: KEY_PROOF_TYP, jwk: key.publicJwk }, payload, key);
}

function refused(why: string, cause?: unknown): SignatureError {
  return new SignatureError(
    "KEY_PROOF_INVALID",
    `key proof: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Verifies a key proof for the request `expected.htm expected.htu` and
 * returns its key. Checks, in this order, each failure a `SignatureError`
 * `KEY_PROOF_INVALID` whose message names the check: at most 8 KiB; three
 * canonical base64url segments; header `typ` "dpop+jwt", no `crit`, `jwk` a
 * public Ed25519 or P-256 key (no `d`), `alg` the key's (EdDSA or ES256);
 * the signature; claims `jti` (16–128 characters), `htm`, `htu`, `iat`
 * present and typed; `htm` equal; `htu` equal once normalized
 * (`normalizeHtu`); |now − iat| ≤ maxAgeSeconds (default 60); `nonce` equal
 * when `expected.nonce` is set. The `jti` replay check is the caller's.
 *
 * @example
 * const { kid, jti } = await verifyKeyProof(request.headers.get("DPoP")!, {
 *   htm: "POST", htu: `${issuer}/api/v1/core/agents/me/keys`, now: Math.floor(Date.now() / 1000),
 * });
 */
export async function verifyKeyProof(
  proof: string,
  expected: VerifyKeyProofOptions,
): Promise<VerifiedKeyProof> {
  if (!isPlainObject(expected)) throw new TypeError("verifyKeyProof: expected must be an object");
  const htm = readMethod(expected.htm, "verifyKeyProof");
  const htu = readHtu(expected.htu, "verifyKeyProof");
  const nonce = readNonce(expected.nonce, "verifyKeyProof");
  const { now } = expected;
  if (typeof now !== "number" || !Number.isFinite(now) || now < 0) {
    throw new TypeError("verifyKeyProof: now must be Unix seconds");
  }
  const maxAge = expected.maxAgeSeconds ?? DEFAULT_KEY_PROOF_MAX_AGE_SECONDS;
  if (
    typeof maxAge !== "number" ||
    !Number.isInteger(maxAge) ||
    maxAge < 1 ||
    maxAge > MAX_KEY_PROOF_MAX_AGE_SECONDS
  ) {
    throw new RangeError(
      `verifyKeyProof: maxAgeSeconds must be an integer from 1 to ${MAX_KEY_PROOF_MAX_AGE_SECONDS}`,
    );
  }

  if (typeof proof !== "string" || proof.length === 0) throw refused("missing");
  if (proof.length > MAX_KEY_PROOF_BYTES) throw refused(`longer than ${MAX_KEY_PROOF_BYTES} bytes`);
  const jws = decodeCompactJws(proof);
  if (jws === undefined) throw refused("not a compact JWS of canonical base64url segments");
  const { header } = jws;
  if (header.typ !== KEY_PROOF_TYP) throw refused(`typ must be "${KEY_PROOF_TYP}"`);
  if (header.crit !== undefined) throw refused("crit is not supported");
  let jwk: AgentPublicJwk;
  try {
    jwk = checkAgentPublicJwk(header.jwk);
  } catch (error) {
    throw refused("the jwk header is not a public Ed25519 or P-256 key", error);
  }
  if (header.alg !== profileOf(jwk).jwsAlg) throw refused("alg does not match the jwk");
  if (!(await verifyJwsSignature(jws, jwk))) throw refused("the signature does not verify");

  const claims = decodeJson(jws.payload);
  if (!isPlainObject(claims)) throw refused("the payload is not a JSON object");
  const { jti, iat } = claims;
  if (typeof jti !== "string" || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    throw refused(`jti must be a string of ${MIN_JTI_LENGTH} to ${MAX_JTI_LENGTH} characters`);
  }
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw refused("iat must be a number");
  if (claims.htm !== htm) throw refused("htm does not match the request");
  if (typeof claims.htu !== "string" || normalizeHtu(claims.htu) !== htu) {
    throw refused("htu does not match the request");
  }
  if (Math.abs(now - iat) > maxAge) throw refused(iat < now ? "iat is too old" : "iat is in the future");
  if (nonce !== undefined && claims.nonce !== nonce) throw refused("nonce does not match");
  return { jwk, kid: await agentKeyThumbprint(jwk), jti, iat };
}
