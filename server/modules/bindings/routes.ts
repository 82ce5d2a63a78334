/**
 * Agent Binding over HTTP: the site's two routes (create a request, read
 * its status) and the owner's two (list, revoke). The hosted connect page
 * is not here: it calls the service's functions from its own routes.
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { authenticateSite } from "../../foundation/sites/service.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import { ok } from "../../http/envelope.ts";
import { BindingParams, CreateBindingRequestBody, OwnerBindingsQuery, SiteTokenHeaders } from "./schemas.ts";
import {
  createBindingRequest,
  formatCursor,
  getBindingForSite,
  listOwnerBindings,
  parseCursor,
  presentCreated,
  presentForOwner,
  presentForSite,
  revokeBinding,
} from "./service.ts";

export function bindingRoutes(ctx: AppContext) {
  const { config, rateLimiter } = ctx;
  const ipOf = (request: Request) => clientAddress(request, config.trustProxy);

  return new Elysia({ tags: ["bindings"] })
    .post(
      "/api/v1/modules/bindings/requests",
      async ({ body, request, set }) => {
        const site = await authenticateSite(ctx.sites, request.headers.get("x-site-token"));
        await rateLimiter.enforce("binding-requests", site.id, config.rateLimits.bindingRequestsPerMinute);
        const binding = await createBindingRequest(
          ctx.bindings,
          site,
          { redirectUri: body.redirect_uri },
          ipOf(request),
        );
        set.status = 201;
        return ok(presentCreated(ctx.bindings, binding));
      },
      {
        body: CreateBindingRequestBody,
        headers: SiteTokenHeaders,
        detail: { summary: "Site: ask for one of the user's agents; send the browser to connect_url" },
      },
    )
    .get(
      "/api/v1/modules/bindings/requests/:id",
      async ({ params, request }) => {
        const site = await authenticateSite(ctx.sites, request.headers.get("x-site-token"));
        return ok(presentForSite(await getBindingForSite(ctx.bindings, site, params.id)));
      },
      {
        params: BindingParams,
        headers: SiteTokenHeaders,
        detail: { summary: "Site: the status of its binding request (REVOKED once the owner ends it)" },
      },
    )
    .get(
      "/api/v1/modules/bindings",
      async ({ query, request }) => {
        const { user } = await requireOwner(ctx, request);
        const page = await listOwnerBindings(ctx.bindings, user, {
          limit: query.limit ?? 50,
          before: parseCursor(query.before),
        });
        return ok({
          bindings: page.bindings.map(presentForOwner),
          next_cursor: page.nextCursor === null ? null : formatCursor(page.nextCursor),
        });
      },
      { query: OwnerBindingsQuery, detail: { summary: "Owner: the bindings of their agents, newest first" } },
    )
    .post(
      "/api/v1/modules/bindings/:id/revoke",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(presentForOwner(await revokeBinding(ctx.bindings, user, params.id, ipOf(request))));
      },
      { params: BindingParams, detail: { summary: "Owner: end a binding; its site sees REVOKED" } },
    );
}
