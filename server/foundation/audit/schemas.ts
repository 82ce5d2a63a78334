/** The models of the audit routes (server/http/contract.ts). */

import { t } from "elysia";
import { IsoTime, JsonInteger, Nullable } from "../../http/schema-types.ts";

/**
 * Integers (`JsonInteger`, with descriptions). Elysia reads a query's text as
 * the number it spells, as it did for `t.Integer`, which the generator
 * documents as a string defaulting to 0.
 */
export const AuditQuery = t.Object({
  limit: t.Optional(
    t.Number({ minimum: 1, maximum: 200, multipleOf: 1, description: "Events per page; default 50." }),
  ),
  before: t.Optional(
    t.Number({
      minimum: 1,
      multipleOf: 1,
      description: "The `next_cursor` of the previous page: lists the events older than it.",
    }),
  ),
});

/** One event, as `presentAuditEvent` writes it (service.ts). */
export const AuditEventView = t.Object({
  event_id: t.String({ format: "uuid" }),
  occurred_at: IsoTime,
  action: t.String({ description: "Dotted verb, e.g. `site.created`, `session.rejected`." }),
  outcome: t.Union([t.Literal("success"), t.Literal("failure")]),
  actor: t.Object({
    type: t.Union([
      t.Literal("owner"),
      t.Literal("agent"),
      t.Literal("site"),
      t.Literal("admin"),
      t.Literal("system"),
      t.Literal("anonymous"),
    ]),
    id: Nullable(t.String()),
  }),
  target: Nullable(t.Object({ type: t.String(), id: Nullable(t.String()) })),
  reason: Nullable(
    t.String({ description: "A stable code for failures (e.g. `INVALID_POW`), never a secret." }),
  ),
  ip: Nullable(t.String({ description: "The client address the request came from." })),
});

/** A page of events, newest first; `next_cursor` is passed back as `before` for the next (older) page, null at the end. */
export const AuditPage = t.Object({
  events: t.Array(AuditEventView),
  next_cursor: Nullable(JsonInteger({ minimum: 1 })),
});
