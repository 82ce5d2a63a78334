/**
 * The paths key proofs name in `htu` and the directory's location. A proof's
 * `htu` is the issuer's URL plus the path (RFC 9449 §4.2: scheme, authority
 * and path, no query), never the URL the request happened to reach, so a
 * proof made for this issuer is valid behind any proxy and at no other issuer.
 */

export const AGENT_KEYS_PATH = "/api/v1/core/agents/me/keys";
export const PASSPORTS_PATH = "/api/v1/core/passports";
export const DIRECTORY_PREFIX = "/.well-known/http-message-signatures-directory/agents";

export function approvePath(loginRequestId: string): string {
  return `/api/v1/modules/agent-login/requests/${loginRequestId}/approve`;
}

export function directoryPath(agentId: string): string {
  return `${DIRECTORY_PREFIX}/${agentId}`;
}

/** `issuer` (PUBLIC_URL, no trailing slash) joined with `path`. */
export function issuerUrl(issuer: string, path: string): string {
  return `${issuer}${path}`;
}
