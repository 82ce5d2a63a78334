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
import {
  answers,
  INPUT_FAILURES,
  OWNER_READ_FAILURES,
  OWNER_SESSION,
  OWNER_WRITE_FAILURES,
  SITE_TOKEN,
  SITE_TOKEN_FAILURES,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import {
  BindingParams,
  CreateBindingRequestBody,
  CreatedBindingRequest,
  OwnerBindingPage,
  OwnerBindingsQuery,
  OwnerBindingView,
  SiteBindingView,
  SiteTokenHeaders,
} from "./schemas.ts";
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
        response: answers(201, CreatedBindingRequest, [
          ...INPUT_FAILURES,
          ...SITE_TOKEN_FAILURES,
          "RATE_LIMIT_EXCEEDED",
          "SITE_ORIGIN_REQUIRED",
          "REDIRECT_URI_NOT_ALLOWED",
        ]),
        detail: {
          summary: "Site: ask for one of the user's agents; send the browser to connect_url",
          description:
            "A PENDING request living `BINDING_REQUEST_TTL_SECONDS` (600). The browser comes back to `redirect_uri?passport=<JWT>&binding_id=<id>` or `redirect_uri?error=access_denied&binding_id=<id>`. A site without a registered origin gets SITE_ORIGIN_REQUIRED; a `redirect_uri` breaking a rule, REDIRECT_URI_NOT_ALLOWED with `detail.reason`.",
          operationId: "createBindingRequest",
          security: SITE_TOKEN,
        },
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
        response: answers(200, SiteBindingView, [
          "VALIDATION_FAILED",
          ...SITE_TOKEN_FAILURES,
          "BINDING_NOT_FOUND",
        ]),
        detail: {
          summary: "Site: the status of its binding request (REVOKED once the owner ends it)",
          description:
            "PENDING past its expiry reads EXPIRED; a COMPLETED binding whose agent was revoked reads REVOKED (`revocation_reason: agent_revoked`). Another site's request is BINDING_NOT_FOUND.",
          operationId: "getBindingRequest",
          security: SITE_TOKEN,
        },
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
      {
        query: OwnerBindingsQuery,
        response: answers(200, OwnerBindingPage, ["VALIDATION_FAILED", ...OWNER_READ_FAILURES]),
        detail: {
          summary: "Owner: the bindings of their agents, newest first",
          description: "Completed and revoked bindings only, by completion time; page with `next_cursor`.",
          operationId: "listBindings",
          security: OWNER_SESSION,
        },
      },
    )
    .post(
      "/api/v1/modules/bindings/:id/revoke",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(presentForOwner(await revokeBinding(ctx.bindings, user, params.id, ipOf(request))));
      },
      {
        params: BindingParams,
        response: answers(200, OwnerBindingView, [
          ...INPUT_FAILURES,
          ...OWNER_WRITE_FAILURES,
          "BINDING_NOT_FOUND",
        ]),
        detail: {
          summary: "Owner: end a binding; its site sees REVOKED",
          description:
            "Revoking a revoked binding again answers the same. Anything that is not the caller's completed binding is BINDING_NOT_FOUND. Takes no body.",
          operationId: "revokeBinding",
          security: OWNER_SESSION,
        },
      },
    );
}
