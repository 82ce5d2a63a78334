/**
 * What an agent with a signing key adds to its requests and its key
 * directory (docs/web-bot-auth.md):
 *
 * - each request to a site: `Signature-Agent` naming the issuer's directory
 *   of this agent, and an RFC 9421 signature (label `sig1`, tag
 *   `web-bot-auth`, a fresh 32-byte nonce, 60 s of validity) over the
 *   method, authority, path, query, `Signature-Agent` and `Authorization`:
 *   the passport is covered, so a signature cannot be moved to another
 *   passport, nor the passport to a request the key did not sign;
 * - the key directory: the draft's signature over the issuer's `@authority`
 *   (`;req`), tag `http-message-signatures-directory`, that the issuer
 *   serves with the directory (it never holds the private key).
 */
import { encodeBase64url } from "@lime-ts/core/encoding";
import { type AgentKeyPair, type CoveredComponent, signMessage } from "@lime-ts/core/http-signatures";
import {
  agentDirectoryUrl,
  DIRECTORY_SIGNATURE_TAG,
  keyDirectoryBase,
  WEB_BOT_AUTH_TAG,
} from "../internal/web-bot-auth.ts";

/** A request signature's validity: long enough for the request to arrive, short for a replay window. */
export const REQUEST_SIGNATURE_LIFETIME_SECONDS = 60;
/** An uploaded directory signature's validity; renewed when less than `DIRECTORY_SIGNATURE_RENEW_SECONDS` remain. */
export const DIRECTORY_SIGNATURE_LIFETIME_SECONDS = 24 * 3600;
export const DIRECTORY_SIGNATURE_RENEW_SECONDS = 2 * 3600;

/**
 * The three headers that sign a request for `agentId` of `issuer`:
 * `signature-agent`, `signature-input`, `signature`. Its headers must
 * already carry the `Authorization` (the passport).
 *
 * @example
 * const headers = await requestSignatureHeaders(request, key, { issuer, agentId, now: Date.now() / 1000 });
 */
export async function requestSignatureHeaders(
  request: { method: string; url: string; headers: Headers },
  key: AgentKeyPair,
  context: { issuer: string; agentId: string; now: number },
): Promise<Record<"signature-agent" | "signature-input" | "signature", string>> {
  const signatureAgent = sfString(agentDirectoryUrl(keyDirectoryBase(context.issuer), context.agentId));
  const headers = new Headers(request.headers);
  headers.set("signature-agent", signatureAgent);
  // Only the method, the URL and the headers are signed, so the body stream is never touched.
  const signed = { method: request.method, url: request.url, headers };
  const components: string[] = ["@method", "@authority", "@path"];
  if (new URL(request.url).search !== "") components.push("@query");
  components.push("signature-agent", "authorization");
  const created = Math.floor(context.now);
  const { signatureInput, signature } = await signMessage(signed, key, {
    label: "sig1",
    components,
    created,
    expires: created + REQUEST_SIGNATURE_LIFETIME_SECONDS,
    nonce: randomNonce(),
    tag: WEB_BOT_AUTH_TAG,
  });
  return { "signature-agent": signatureAgent, "signature-input": signatureInput, signature };
}

/**
 * The key directory's signature by `key` (`("@authority";req)` with the
 * issuer's authority, tag `http-message-signatures-directory`), as the two
 * header members the issuer's upload route takes.
 */
export async function directorySignature(
  key: AgentKeyPair,
  issuer: string,
  now: number,
): Promise<{ signatureInput: string; signature: string; expires: number }> {
  const created = Math.floor(now);
  const expires = created + DIRECTORY_SIGNATURE_LIFETIME_SECONDS;
  const components: CoveredComponent[] = [{ name: "@authority", params: { req: true } }];
  const request = new Request(issuer);
  const { signatureInput, signature } = await signMessage(new Response(null), key, {
    label: "sig1",
    components,
    created,
    expires,
    tag: DIRECTORY_SIGNATURE_TAG,
    request,
  });
  return { signatureInput, signature, expires };
}

/** 32 random bytes, base64url: unguessable, and unique across every signature an agent will ever make. */
function randomNonce(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** RFC 8941 §3.3.3 sf-string (a URL from `new URL` holds no control characters, but quotes and backslashes are escaped anyway). */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}
