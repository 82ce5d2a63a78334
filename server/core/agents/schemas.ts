/** The bodies of the agent routes: one source for the API's validation, its types and the portal's forms. */

import { t } from "elysia";

export const RegisterAgentBody = t.Object({
  display_name: t.String({ minLength: 1, maxLength: 128 }),
  description: t.Optional(t.Union([t.String({ maxLength: 1000 }), t.Null()])),
  avatar_url: t.Optional(t.Union([t.String({ maxLength: 2048 }), t.Null()])),
});
