/**
 * An agent's key directory (draft-meunier-webbotauth-httpsig-directory):
 * its active public keys as a JWKS, served with one RFC 9421 signature per
 * key, tag `http-message-signatures-directory`, covering `"@authority";req`,
 * so a verifier knows each key's holder vouched for this directory on this
 * issuer. The server never holds an agent's private key: the agent signs and
 * uploads (docs/decisions/agent-keys.md), the server checks the upload here
 * and serves it relabelled `sig1..sigN`, leaving out the expired ones.
 */

import { encodeBase64url } from "@lime-ts/core/encoding";
import {
  type AgentKeyAlgorithm,
  type ParsedSignature,
  parseSignatures,
  verifyParsedSignature,
} from "@lime-ts/core/http-signatures";
import { DomainError } from "../../errors.ts";
import { directoryPath, issuerUrl } from "./paths.ts";
import type { AgentKeyRecord, DirectorySignature } from "./store.ts";

export const DIRECTORY_MEDIA_TYPE = "application/http-message-signatures-directory+json";
export const DIRECTORY_TAG = "http-message-signatures-directory";
/** `Cache-Control: max-age` of a directory: a revoked key leaves verifiers' caches within a minute. */
export const DIRECTORY_MAX_AGE_SECONDS = 60;
/** An uploaded signature may be dated this far in the future (clock skew). */
export const DIRECTORY_SIGNATURE_SKEW_SECONDS = 60;
/** Longest validity (expires − created) of an uploaded signature. */
export const DIRECTORY_SIGNATURE_MAX_LIFETIME_SECONDS = 7 * 86_400;
/** Longest member accepted in an upload; a member with an EC signature is about 250 bytes. */
export const MAX_DIRECTORY_MEMBER_BYTES = 2048;

/** The JWS `alg` (RFC 7518 / RFC 8037) a directory names for each key kind. */
const JWS_ALG: Record<AgentKeyAlgorithm, "EdDSA" | "ES256"> = {
  ed25519: "EdDSA",
  "ecdsa-p256-sha256": "ES256",
};

const refused = (why: string) =>
  new DomainError("DIRECTORY_SIGNATURE_INVALID", `The directory signature is refused: ${why}`);

/** A dictionary member's value: what follows its key (RFC 8941 §3.2; a key holds no "="). */
function memberValue(member: string): string {
  const text = member.trim();
  const eq = text.indexOf("=");
  return eq > 0 ? text.slice(eq + 1) : "";
}

/** The `@signature-params` line of a signature base (RFC 9421 §2.5): the serialized parameters signed. */
function signedParams(parsed: ParsedSignature): string {
  const last = parsed.base.slice(parsed.base.lastIndexOf("\n") + 1);
  const prefix = '"@signature-params": ';
  return last.startsWith(prefix) ? last.slice(prefix.length) : "";
}

function parseUpload(key: AgentKeyRecord, issuer: string, upload: UploadedSignature): ParsedSignature {
  let parsed: ParsedSignature[];
  try {
    const response = new Response(null, {
      headers: { "signature-input": upload.signatureInput, signature: upload.signature },
    });
    const request = new Request(issuerUrl(issuer, directoryPath(key.agentId)));
    parsed = parseSignatures(response, { request, maxHeaderBytes: MAX_DIRECTORY_MEMBER_BYTES });
  } catch (error) {
    // A header value Headers refuses (a line break) or one core's strict parser refuses.
    if (error instanceof TypeError || Reflect.get(error as object, "code") !== undefined) {
      throw refused("signature_input and signature must each be one RFC 9421 member.");
    }
    throw error;
  }
  if (parsed.length !== 1) throw refused("send exactly one member in each of signature_input and signature.");
  return parsed[0]!;
}

export interface UploadedSignature {
  signatureInput: string;
  signature: string;
}

/**
 * Checks an uploaded directory signature for `key`, in this order: one
 * member each, tag, components exactly `"@authority";req`, keyid = kid, alg
 * (when given) = the key's, created ≤ now + 60 s, expires > now,
 * expires − created ≤ 7 days, canonical serialization, and the signature
 * over the base whose `@authority` is the issuer's. Returns what to store.
 */
export async function checkDirectorySignature(
  key: AgentKeyRecord,
  issuer: string,
  upload: UploadedSignature,
  now: number,
): Promise<DirectorySignature> {
  const parsed = parseUpload(key, issuer, upload);
  const { params } = parsed;
  if (params.tag !== DIRECTORY_TAG) throw refused(`its tag must be "${DIRECTORY_TAG}".`);
  const [component, ...others] = parsed.components;
  const params0 = component?.params ?? {};
  if (
    component?.name !== "@authority" ||
    others.length > 0 ||
    params0.req !== true ||
    Object.keys(params0).length !== 1
  ) {
    throw refused('it must cover exactly ("@authority";req).');
  }
  if (params.keyid !== key.kid) throw refused("its keyid must be the key's kid.");
  if (params.alg !== undefined && params.alg !== key.alg) throw refused(`its alg must be "${key.alg}".`);
  const nowSeconds = Math.floor(now / 1000);
  if (typeof params.created !== "number" || typeof params.expires !== "number") {
    throw refused("it must carry created and expires.");
  }
  if (params.created > nowSeconds + DIRECTORY_SIGNATURE_SKEW_SECONDS)
    throw refused("it is dated in the future.");
  if (params.expires <= nowSeconds) throw refused("it has expired.");
  if (params.expires - params.created > DIRECTORY_SIGNATURE_MAX_LIFETIME_SECONDS) {
    throw refused("it may be valid for at most 7 days (expires − created).");
  }
  const signatureInput = memberValue(upload.signatureInput);
  const signature = memberValue(upload.signature);
  // Served as sent; a verifier that rebuilds the base from these bytes must get the base that was signed.
  if (signatureInput !== signedParams(parsed) || !/^:[A-Za-z0-9+/]+={0,2}:$/.test(signature)) {
    throw refused("write each member in its canonical RFC 8941 serialization.");
  }
  if (!(await verifyParsedSignature(parsed, key.jwk))) {
    throw refused(`the signature does not verify with this key over the issuer's @authority.`);
  }
  return { signatureInput, signature, expiresAt: params.expires * 1000 };
}

/** One key of a directory: the public JWK with `kid`, `alg` and `use` (draft §3, RFC 7517 §4). */
export function directoryKey(key: AgentKeyRecord) {
  const jwk = key.jwk;
  const members =
    jwk.kty === "EC"
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  return { ...members, kid: key.kid, alg: JWS_ALG[key.alg], use: "sig" as const };
}

export interface SignedDirectory {
  body: string;
  /** `Signature-Input` and `Signature`, or null when no key has a live signature. */
  signatureInput: string | null;
  signature: string | null;
  /** A strong validator over the body and both signature fields. */
  etag: string;
}

/** The directory of `keys` (an agent's active keys) at `now`: body, relabelled signatures, ETag. */
export async function buildDirectory(keys: readonly AgentKeyRecord[], now: number): Promise<SignedDirectory> {
  const body = JSON.stringify({ keys: keys.map(directoryKey) });
  const live = keys
    .map((key) => key.directorySignature)
    .filter((signature): signature is DirectorySignature => signature !== null && signature.expiresAt > now);
  const signatureInput =
    live.length === 0 ? null : live.map((s, i) => `sig${i + 1}=${s.signatureInput}`).join(", ");
  const signature = live.length === 0 ? null : live.map((s, i) => `sig${i + 1}=${s.signature}`).join(", ");
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${body}\n${signatureInput ?? ""}\n${signature ?? ""}`),
  );
  return {
    body,
    signatureInput,
    signature,
    etag: `"${encodeBase64url(new Uint8Array(digest)).slice(0, 27)}"`,
  };
}
