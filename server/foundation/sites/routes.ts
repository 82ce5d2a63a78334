import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import type { DomainErrorCode } from "../../errors.ts";
import { requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import {
  answers,
  failureResponses,
  INPUT_FAILURES,
  OWNER_READ_FAILURES,
  OWNER_SESSION,
  OWNER_WRITE_FAILURES,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import {
  RegisterSiteBody,
  SiteList,
  SiteParams,
  SiteView,
  SiteWithToken,
  UpdateSiteBody,
} from "./schemas.ts";
import {
  deleteSite,
  presentSite,
  registerSite,
  rotateSiteToken,
  setSiteStatus,
  updateSite,
} from "./service.ts";

/** A write on one of the owner's sites: POST bodies are parsed (and refused) even where none is expected. */
const SITE_WRITE_FAILURES: readonly DomainErrorCode[] = [
  ...INPUT_FAILURES,
  ...OWNER_WRITE_FAILURES,
  "SITE_NOT_FOUND",
];

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
          {
            displayName: body.display_name,
            origin: body.origin ?? null,
            powDifficulty: body.pow_difficulty,
            powDifficultyMax: body.pow_difficulty_max,
            powSurgePerMinute: body.pow_surge_per_minute,
          },
          ipOf(request),
        );
        set.status = 201;
        return ok({ ...presentSite(ctx.sites, site), site_token: token });
      },
      {
        body: RegisterSiteBody,
        response: answers(201, SiteWithToken, [...INPUT_FAILURES, ...OWNER_WRITE_FAILURES]),
        detail: {
          summary: "Register a site; the site_token is shown only here",
          description:
            "`pow_difficulty` (the floor) defaults to the server's DEFAULT_POW_DIFFICULTY; `pow_difficulty_max` and " +
            "`pow_surge_per_minute` shape how it rises under load (docs/adaptive-difficulty.md). An origin that is " +
            "not a bare http(s) origin, a blank name, or a ceiling below the floor is VALIDATION_FAILED.",
          operationId: "registerSite",
          security: OWNER_SESSION,
        },
      },
    )
    .get(
      "",
      async ({ request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok({
          sites: (await ctx.sites.sites.listByOwner(user.id)).map((site) => presentSite(ctx.sites, site)),
        });
      },
      {
        response: answers(200, SiteList, OWNER_READ_FAILURES),
        detail: { summary: "The owner's sites", operationId: "listSites", security: OWNER_SESSION },
      },
    )
    .patch(
      "/:site_id",
      async ({ body, params, request }) => {
        const { user } = await requireOwner(ctx, request);
        const site = await updateSite(
          ctx.sites,
          user,
          params.site_id,
          {
            displayName: body.display_name,
            origin: body.origin,
            powDifficulty: body.pow_difficulty,
            powDifficultyMax: body.pow_difficulty_max,
            powSurgePerMinute: body.pow_surge_per_minute,
          },
          ipOf(request),
        );
        return ok(presentSite(ctx.sites, site));
      },
      {
        params: SiteParams,
        body: UpdateSiteBody,
        response: answers(200, SiteView, SITE_WRITE_FAILURES),
        detail: {
          summary: "Change name, origin or PoW difficulty policy",
          description:
            "Fields left out stay as they are; `origin: null` removes the origin, and `null` for " +
            "`pow_difficulty_max` or `pow_surge_per_minute` returns it to the default. A ceiling below the floor " +
            "is VALIDATION_FAILED; a floor alone raised above the ceiling lifts the ceiling with it.",
          operationId: "updateSite",
          security: OWNER_SESSION,
        },
      },
    )
    .post(
      "/:site_id/token",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        const { site, token } = await rotateSiteToken(ctx.sites, user, params.site_id, ipOf(request));
        return ok({ ...presentSite(ctx.sites, site), site_token: token });
      },
      {
        params: SiteParams,
        response: answers(200, SiteWithToken, SITE_WRITE_FAILURES),
        detail: {
          summary: "Rotate the site token (the old one stops at once)",
          operationId: "rotateSiteToken",
          security: OWNER_SESSION,
        },
      },
    )
    .post(
      "/:site_id/suspend",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(
          presentSite(
            ctx.sites,
            await setSiteStatus(ctx.sites, user, params.site_id, "SUSPENDED", ipOf(request)),
          ),
        );
      },
      {
        params: SiteParams,
        response: answers(200, SiteView, SITE_WRITE_FAILURES),
        detail: {
          summary: "Suspend the site (SITE_SUSPENDED until reactivated)",
          operationId: "suspendSite",
          security: OWNER_SESSION,
        },
      },
    )
    .post(
      "/:site_id/reactivate",
      async ({ params, request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(
          presentSite(
            ctx.sites,
            await setSiteStatus(ctx.sites, user, params.site_id, "ACTIVE", ipOf(request)),
          ),
        );
      },
      {
        params: SiteParams,
        response: answers(200, SiteView, SITE_WRITE_FAILURES),
        detail: { summary: "Lift a suspension", operationId: "reactivateSite", security: OWNER_SESSION },
      },
    )
    .delete(
      "/:site_id",
      async ({ params, request, set }) => {
        const { user } = await requireOwner(ctx, request);
        await deleteSite(ctx.sites, user, params.site_id, ipOf(request));
        set.status = 204;
        return null;
      },
      {
        params: SiteParams,
        // No `response`: a 204 has no body to check, and the generator cannot describe an empty answer.
        detail: {
          summary: "Delete the site with its login requests",
          operationId: "deleteSite",
          security: OWNER_SESSION,
          responses: {
            204: { description: "Deleted, with its login requests and their outcomes." },
            // A DELETE's body is not read, so only the path parameter is validated.
            ...failureResponses(["VALIDATION_FAILED", ...OWNER_WRITE_FAILURES, "SITE_NOT_FOUND"]),
          },
        },
      },
    );
}
