/**
 * Keeps the browser flow (sign-in and consent pages) on the issuer's own
 * host when the issuer is a loopback address.
 *
 * A development server answers on every loopback name: with the default
 * PUBLIC_URL (`http://localhost:3000`) it is also reached as
 * `http://127.0.0.1:3000`. The pages' forms post to the issuer, the sign-in
 * cookie belongs to the host that set it, and the Origin check wants the
 * issuer's origin, so a sign-in page opened on the other name could never
 * succeed (Chromium blocks the post outright under `form-action`). A page
 * request on another loopback name for the same port is sent to the same
 * path on the issuer instead, before any page or cookie is made.
 *
 * Only browser navigations (GET, no agent token) are redirected; APIs answer
 * on whatever name they are called by, and a non-loopback issuer (every
 * production deployment) is left alone.
 */
import { Elysia } from "elysia";
import { isLoopbackHost } from "./registration.ts";

/** The origin (`http://localhost:3000`) a request's Host header names, or null when it is unusable. */
function requestOrigin(request: Request, protocol: string): URL | null {
  const host = request.headers.get("host");
  if (host === null || host === "") return null;
  try {
    return new URL(`${protocol}//${host}`);
  } catch {
    return null;
  }
}

/**
 * Where to send a browser page request, or null to serve it here: the same
 * path and query on the issuer, when the request came by another loopback
 * name of the same port.
 */
export function issuerLocationFor(
  request: Request,
  issuer: string,
  pagePaths: readonly string[],
): string | null {
  if (request.method !== "GET" || request.headers.has("x-agent-token")) return null;
  const target = new URL(request.url);
  if (!pagePaths.includes(target.pathname)) return null;
  const canonical = new URL(issuer);
  if (!isLoopbackHost(canonical.hostname)) return null;
  const arrived = requestOrigin(request, canonical.protocol);
  if (arrived === null || !isLoopbackHost(arrived.hostname)) return null;
  if (arrived.hostname === canonical.hostname || arrived.port !== canonical.port) return null;
  // The issuer may carry a path a proxy strips; the app's paths are relative to it.
  return `${issuer}${target.pathname}${target.search}`;
}

/** The plugin: redirects `pagePaths` (the authorization and consent pages) to the issuer's host. */
export function browserFlowOnIssuerHost(issuer: string, pagePaths: readonly string[]) {
  return new Elysia({ name: "lime-oauth-issuer-host" }).onRequest(({ request }) => {
    const location = issuerLocationFor(request, issuer, pagePaths);
    if (location === null) return;
    return new Response(null, { status: 302, headers: { location, "cache-control": "no-store" } });
  });
}
