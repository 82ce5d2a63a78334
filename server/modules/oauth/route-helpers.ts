/** What the OAuth route groups share. */

import { rateLimitKey } from "../../http/client-address.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import {
  type RedirectableError,
  redirectWith,
  type ValidatedAuthorization,
  validateAuthorizationRequest,
} from "./authorize.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAuthError } from "./errors.ts";
import { FormBody, OAuthParams } from "./params.ts";

/** Browser clients (an MCP inspector in a page) call these cross-origin; no cookie is ever read on them. */
const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, content-type, mcp-protocol-version",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-max-age": "600",
};

export function withCors(response: Response): Response {
  for (const [name, value] of Object.entries(CORS)) response.headers.set(name, value);
  return response;
}

/**
 * A group's one error handler: runs a route's work and answers what it
 * throws with `failure`, which rethrows what it does not answer, on to the
 * server's boundary (logged, 500). Elysia's `onError` cannot do this for a
 * group: the boundary's global handler runs first and answers everything.
 */
export function answeringFailures(failure: (error: unknown) => Response) {
  return async <Answer>(work: () => Promise<Answer>): Promise<Answer | Response> => {
    try {
      return await work();
    } catch (error) {
      return failure(error);
    }
  };
}

export function redirect(location: string, status: 302 | 303 = 302): Response {
  return new Response(null, { status, headers: { location, "cache-control": "no-store" } });
}

/** The parameters of a form body; any other body is invalid_request. */
export function formParams(body: unknown): OAuthParams {
  if (body instanceof FormBody) return body.params;
  throw new OAuthError("invalid_request", "Send the parameters as application/x-www-form-urlencoded.");
}

/** Every authorization request, a browser's or an agent's: counted per address, then validated. */
export async function admitAuthorizationRequest(
  deps: OAuthDeps,
  rateLimiter: RateLimiter,
  request: Request,
  ip: string,
): Promise<ValidatedAuthorization> {
  await rateLimiter.enforce("oauth-authorize", rateLimitKey(ip), deps.config.authorizeRequestsPerMinute);
  return validateAuthorizationRequest(deps, new OAuthParams(new URL(request.url).searchParams));
}

/** RFC 6749 §4.1.2.1: a request that fails once its redirect URI is known is answered there. */
export function redirectToClient(error: RedirectableError, issuer: string): Response {
  return redirect(
    redirectWith(error.redirectUri, issuer, {
      error: error.oauth.error,
      error_description: error.oauth.message,
      state: error.state,
    }),
  );
}
