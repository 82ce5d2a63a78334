/**
 * The OAuth provider's routes, in groups by audience and by how they
 * answer (each group answers its failures one way): discovery metadata,
 * the browser's pages in HTML, the protocol endpoints in RFC 6749 JSON,
 * and the management API in the LIME envelope.
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { browserRoutes } from "./browser-routes.ts";
import { managementRoutes } from "./management-routes.ts";
import { metadataRoutes } from "./metadata-routes.ts";
import { protocolRoutes } from "./protocol-routes.ts";

export function oauthRoutes(ctx: AppContext) {
  const deps = { oauth: ctx.oauth, rateLimiter: ctx.rateLimiter, config: ctx.config };
  return new Elysia()
    .use(metadataRoutes(ctx.oauth))
    .use(browserRoutes(deps))
    .use(protocolRoutes(deps))
    .use(managementRoutes(deps));
}
