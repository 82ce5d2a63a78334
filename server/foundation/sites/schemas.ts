/** The bodies of the site routes: one source for the API's validation, its types and the portal's forms. */

import { t } from "elysia";
import { JsonInteger } from "../../http/schema-types.ts";

const DisplayName = t.String({ minLength: 1, maxLength: 100 });
const Origin = t.Union([t.String({ maxLength: 2048 }), t.Null()]);
export const PowDifficulty = JsonInteger({ minimum: 1, maximum: 32 });

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
