/**
 * Names both sides of Web Bot Auth agree on (docs/web-bot-auth.md): the
 * signature tags and where an issuer serves an agent's key directory
 * (draft-meunier-http-message-signatures-directory, one directory per agent).
 */

/** `tag` of a request signature (draft-meunier-web-bot-auth-architecture). */
export const WEB_BOT_AUTH_TAG = "web-bot-auth";
/** `tag` of a key directory's own signatures. */
export const DIRECTORY_SIGNATURE_TAG = "http-message-signatures-directory";
export const KEY_DIRECTORY_PATH = "/.well-known/http-message-signatures-directory/agents/";

/**
 * `<issuer>/.well-known/http-message-signatures-directory/agents/`, keeping
 * any path the issuer has. An issuer that is no URL passes its JWKS URL
 * instead: the directory is then at that origin (as the revocation list).
 */
export function keyDirectoryBase(issuerOrJwksUrl: string): string {
  const url = new URL(issuerOrJwksUrl);
  const base = url.pathname.endsWith("jwks.json") ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.origin}${base}${KEY_DIRECTORY_PATH}`;
}

/** The URL of `agentId`'s key directory under `base` (a `keyDirectoryBase`). */
export function agentDirectoryUrl(base: string, agentId: string): string {
  return `${base}${encodeURIComponent(agentId)}`;
}
