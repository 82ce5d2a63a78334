/** The bodies, parameters, queries and answers of the binding routes: one source for validation, types and the OpenAPI document. */

import { t } from "elysia";
import { IsoTime, Nullable } from "../../http/schema-types.ts";

export const BindingParams = t.Object({ id: t.String({ format: "uuid" }) });

/** LIME's site SDK sends exactly `{"redirect_uri": "..."}`; the URL rules are the service's (redirect-uri.ts). */
export const CreateBindingRequestBody = t.Object({
  redirect_uri: t.String({
    minLength: 1,
    maxLength: 2048,
    description:
      "Absolute, https (http only to localhost, 127.0.0.0/8 or [::1]), no userinfo, no fragment, no `passport`, `error` or `binding_id` parameter, on the site's registered origin.",
  }),
});

export const OwnerBindingsQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, description: "Page size; default 50." })),
  /** A `next_cursor` from the previous page. */
  before: t.Optional(t.String({ maxLength: 64, description: "A `next_cursor` from the previous page." })),
});

export const SiteTokenHeaders = t.Object({
  "x-site-token": t.Optional(t.String({ description: "The site's token (`lime_site_…`)." })),
});

/** PENDING → COMPLETED → REVOKED, PENDING → DENIED, PENDING → EXPIRED (docs/decisions/agent-binding.md). */
export const BindingStatus = t.Union([
  t.Literal("PENDING"),
  t.Literal("COMPLETED"),
  t.Literal("DENIED"),
  t.Literal("EXPIRED"),
  t.Literal("REVOKED"),
]);

const RevocationReason = Nullable(
  t.Union([t.Literal("owner_revoked"), t.Literal("agent_revoked")], {
    description: "Set when REVOKED: the owner ended the binding, or the agent itself was revoked.",
  }),
);

/** The creation answer: LIME's SDK reads `binding_id`, `connect_url`, `status`, `expires_at`; the rest is ours. */
export const CreatedBindingRequest = t.Object({
  binding_id: t.String({ format: "uuid" }),
  connect_url: t.String({
    description:
      "LIME's hosted connect page for this request (`PUBLIC_URL` + `/connect?binding_id=<id>`); send the browser there as given.",
  }),
  status: t.Literal("PENDING"),
  expires_at: IsoTime,
  site_id: t.String({ format: "uuid" }),
  created_at: IsoTime,
});

/** The owning site's view of its request; `agent_id` once an agent was picked (kept when revoked). */
export const SiteBindingView = t.Object({
  binding_id: t.String({ format: "uuid" }),
  site_id: t.String({ format: "uuid" }),
  status: BindingStatus,
  redirect_uri: t.String(),
  created_at: IsoTime,
  expires_at: IsoTime,
  agent_id: Nullable(t.String({ format: "uuid", description: "The agent picked; null until then." })),
  decided_at: Nullable(t.String({ format: "date-time", description: "When it was completed or declined." })),
  revoked_at: Nullable(IsoTime),
  revocation_reason: RevocationReason,
});

/** One of the owner's bindings, as the portal lists it. */
export const OwnerBindingView = t.Object({
  binding_id: t.String({ format: "uuid" }),
  status: t.Union([t.Literal("COMPLETED"), t.Literal("REVOKED")], {
    description: "REVOKED once the owner ended it or the agent was revoked.",
  }),
  site: t.Object({
    site_id: t.String({ format: "uuid" }),
    display_name: Nullable(t.String({ description: "Null once the site was deleted." })),
    origin: Nullable(t.String()),
  }),
  agent: t.Object({
    agent_id: t.String({ format: "uuid" }),
    display_name: Nullable(t.String({ description: "Null if the agent no longer exists." })),
  }),
  completed_at: IsoTime,
  revoked_at: Nullable(IsoTime),
  revocation_reason: RevocationReason,
});

export const OwnerBindingPage = t.Object({
  bindings: t.Array(OwnerBindingView, { description: "Most recently completed first." }),
  next_cursor: Nullable(
    t.String({ description: "Pass as `before` for the next page; null on the last page." }),
  ),
});
