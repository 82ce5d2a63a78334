/** The LIME-envelope bodies of the OAuth management API: one source for the API and the portal's forms. */

import { t } from "elysia";

export const ResourceBody = t.Object({
  resource: t.String({ minLength: 1, maxLength: 2048 }),
  display_name: t.String({ minLength: 1, maxLength: 128 }),
  scopes: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 128 }), { maxItems: 32 })),
});
