/**
 * The models of the site routes: one source for the API's validation, its
 * types, the portal's forms and the OpenAPI description (server/http/contract.ts).
 */

import { t } from "elysia";
import { IsoTime, JsonInteger, Nullable } from "../../http/schema-types.ts";
import { MAX_SITE_POW_DIFFICULTY } from "./difficulty-policy.ts";

const DisplayName = t.String({ minLength: 1, maxLength: 100 });
const Origin = t.Union([t.String({ maxLength: 2048 }), t.Null()]);
export const PowDifficulty = JsonInteger({ minimum: 1, maximum: MAX_SITE_POW_DIFFICULTY });

const policyInput = {
  pow_difficulty_max: t.Optional(
    Nullable(
      JsonInteger({
        minimum: 1,
        maximum: MAX_SITE_POW_DIFFICULTY,
        description:
          "The ceiling the adaptive difficulty never exceeds; at least `pow_difficulty`. null (or absent at registration) is the default: `pow_difficulty` + 4, at most 32. Equal to `pow_difficulty`, the difficulty stays fixed.",
      }),
    ),
  ),
  pow_surge_per_minute: t.Optional(
    Nullable(
      JsonInteger({
        minimum: 1,
        maximum: 1_000_000,
        description:
          "Login requests per minute the site treats as ordinary; above it the difficulty rises one bit per doubling. null is the default (30).",
      }),
    ),
  ),
};

export const SiteParams = t.Object({ site_id: t.String({ format: "uuid" }) });

export const RegisterSiteBody = t.Object({
  display_name: DisplayName,
  origin: t.Optional(Origin),
  pow_difficulty: t.Optional(PowDifficulty),
  ...policyInput,
});

export const UpdateSiteBody = t.Object({
  display_name: t.Optional(DisplayName),
  origin: t.Optional(Origin),
  pow_difficulty: t.Optional(PowDifficulty),
  ...policyInput,
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
  pow_difficulty: JsonInteger({
    minimum: 1,
    maximum: MAX_SITE_POW_DIFFICULTY,
    description: "The floor: a calm site's login requests carry this difficulty.",
  }),
  pow_difficulty_max: JsonInteger({
    minimum: 1,
    maximum: MAX_SITE_POW_DIFFICULTY,
    description: "The ceiling in effect (the default filled in; never below `pow_difficulty`).",
  }),
  pow_surge_per_minute: JsonInteger({
    minimum: 1,
    description: "The surge rate in effect: login requests per minute before the difficulty rises.",
  }),
  pow_difficulty_current: JsonInteger({
    minimum: 1,
    maximum: MAX_SITE_POW_DIFFICULTY,
    description:
      "What a login request opened now would carry, from the site's recent rate as this instance counts it; an address with recent failures is shown more (docs/adaptive-difficulty.md).",
  }),
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
