/** The bodies, parameters and queries of the binding routes: one source for validation, types and the OpenAPI document. */

import { t } from "elysia";

export const BindingParams = t.Object({ id: t.String({ format: "uuid" }) });

/** LIME's site SDK sends exactly `{"redirect_uri": "..."}`; the URL rules are the service's (redirect-uri.ts). */
export const CreateBindingRequestBody = t.Object({
  redirect_uri: t.String({ minLength: 1, maxLength: 2048 }),
});

export const OwnerBindingsQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
  /** A `next_cursor` from the previous page. */
  before: t.Optional(t.String({ maxLength: 64 })),
});

export const SiteTokenHeaders = t.Object({ "x-site-token": t.Optional(t.String()) });
