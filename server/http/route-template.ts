/**
 * The route template a request matched (`/api/v1/auth/requests/:id`), for
 * metrics labels and the access log: the raw path would give one series per
 * id and could carry whatever a client puts in it. Elysia knows the template
 * only inside its hooks, so a global hook notes it per request here, as the
 * transport notes the peer address (client-address.ts).
 */

import { Elysia } from "elysia";

/** The label of requests no route matched (404s, and those refused before routing). */
export const UNMATCHED_ROUTE = "unmatched";

const templates = new WeakMap<Request, string>();

/**
 * Notes the template of every routed request. Transform runs once a route
 * has matched, before validation; a body that fails to parse skips it but
 * still reaches the error hook, which sees the route too. Must be used before
 * the error boundary: the first error hook to answer ends the chain.
 */
export function routeRecorder() {
  return new Elysia({ name: "lime-route-recorder" })
    .onTransform({ as: "global" }, ({ request, route }) => {
      if (route) templates.set(request, route);
    })
    .onError({ as: "global" }, ({ request, route }) => {
      if (route && !templates.has(request)) templates.set(request, route);
    });
}

export function routeTemplateOf(request: Request): string {
  return templates.get(request) ?? UNMATCHED_ROUTE;
}
