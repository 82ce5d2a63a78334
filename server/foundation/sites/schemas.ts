/**
 * The models of the site routes: one source for the API's validation, its
 * types, the portal's forms and the OpenAPI description (server/http/contract.ts).
 */

import { t } from "elysia";
import { IsoTime, JsonInteger, Nullable } from "../../http/schema-types.ts";

const DisplayName = t.String({ minLength: 1, maxLength: 100 });
const Origin = t.Union([t.String({ maxLength: 2048 }), t.Null()]);
export const PowDifficulty = JsonInteger({ minimum: 1, maximum: 32 });

export const SiteParams = t.Object({ site_id: t.String({ format: "uuid" }) });

export const RegisterSiteBody = t.Object({
  display_name: DisplayName,
  origin: t.Optional(Origin),
  pow_difficulty: t.Optional(PowDifficulty),
});

export const UpdateSiteBody = t.Object({
  display_name: t.Optional(DisplayName),
  origin: t.Optional(Origin),
  pow_difficulty: t.Optional(PowDifficulty),
});

const siteFields = {
  site_id: t.String({ format: "uuid" }),
  display_name: t.String(),
  origin: Nullable(
    t.String({
      description:
        "The site's web origin (`https://shop.example`), normalised; when set, login requests' `redirect_url` must be on it.",
    }),
  ),
  pow_difficulty: JsonInteger({ minimum: 1, maximum: 32 }),
  // A SUSPENDED site's token is refused with SITE_SUSPENDED until it is reactivated.
  status: t.Union([t.Literal("ACTIVE"), t.Literal("SUSPENDED")]),
  created_at: IsoTime,
  updated_at: IsoTime,
};

/** A site, as `presentSite` writes it (service.ts); never its token. */
export const SiteView = t.Object(siteFields);

/** A site with its token: the only answers that carry it (registration and rotation). */
export const SiteWithToken = t.Object({
  ...siteFields,
  site_token: t.String({
    description: "`lime_site_…`, for `X-Site-Token`. Shown only here; the server keeps only its hash.",
  }),
});

export const SiteList = t.Object({ sites: t.Array(SiteView) });
