import { Elysia, t } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import { ok } from "../../http/envelope.ts";
import { RegisterSiteBody, UpdateSiteBody } from "./schemas.ts";
import {
  deleteSite,
  presentSite,
  registerSite,
  rotateSiteToken,
  setSiteStatus,
  updateSite,
} from "./service.ts";

const SiteParams = t.Object({ site_id: t.String({ format: "uuid" }) });

export function siteRoutes(ctx: AppContext) {
  const { config } = ctx;
  const ipOf = (request: Request) => clientAddress(request, config.trustProxy);

  return new Elysia({ prefix: "/api/v1/foundation/sites", tags: ["foundation"] })
    .post(
      "/register",
      async ({ body, request, set }) => {
        const { user } = await requireOwner(ctx, request);
        const { site, token } = await registerSite(
          ctx.sites,
          user,
          { displayName: body.display_name, origin: body.origin ?? null, powDifficulty: body.pow_difficulty },
          ipOf(request),
        );
        set.status = 201;
        return ok({ ...presentSite(site), site_token: token });
      },
      { body: RegisterSiteBody, detail: { summary: "Register a site; the site_token is shown only here" } },
    )
    .get(
      "",
      async ({ request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok({ sites: (await ctx.sites.sites.listByOwner(user.id)).map(presentSite) });
      },
      { detail: { summary: "The owner's sites" } },
    )
    .patch(
      "/:site_id",
      async ({ body, params, request }) => {
        const { user } = await requireOwner(ctx, request);
        const site = await updateSite(
          ctx.sites,
          user,
          params.site_id,
          { displayName: body.display_name, origin: body.origin, powDifficulty: body.pow_difficulty },
          ipOf(request),
        );
        return ok(presentSite(site));
      },
      {
        params: SiteParams,
        body: UpdateSiteBody,
        detail: { summary: "Change name, origin or PoW difficulty" },
      },
    )
    .post(
      "/:site_id/token",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        const { site, token } = await rotateSiteToken(ctx.sites, user, params.site_id, ipOf(request));
        return ok({ ...presentSite(site), site_token: token });
      },
      { params: SiteParams, detail: { summary: "Rotate the site token (the old one stops at once)" } },
    )
    .post(
      "/:site_id/suspend",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(
          presentSite(await setSiteStatus(ctx.sites, user, params.site_id, "SUSPENDED", ipOf(request))),
        );
      },
      { params: SiteParams, detail: { summary: "Suspend the site (SITE_SUSPENDED until reactivated)" } },
    )
    .post(
      "/:site_id/reactivate",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(presentSite(await setSiteStatus(ctx.sites, user, params.site_id, "ACTIVE", ipOf(request))));
      },
      { params: SiteParams, detail: { summary: "Lift a suspension" } },
    )
    .delete(
      "/:site_id",
      async ({ params, request, set }) => {
        const { user } = await requireOwner(ctx, request);
        await deleteSite(ctx.sites, user, params.site_id, ipOf(request));
        set.status = 204;
        return null;
      },
      { params: SiteParams, detail: { summary: "Delete the site with its login requests" } },
    );
}
