import { Elysia, t } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireAdmin, requireOwner } from "../../http/auth.ts";
import { ok } from "../../http/envelope.ts";
import { presentAuditEvent } from "./service.ts";

const AuditQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
  before: t.Optional(t.Integer({ minimum: 1 })),
});

export function auditRoutes(ctx: AppContext) {
  return new Elysia()
    .get(
      "/api/v1/foundation/audit",
      async ({ request, query }) => {
        const { user } = await requireOwner(ctx, request);
        const page = await ctx.auditStore.listByOwner(user.id, query.limit ?? 50, query.before ?? null);
        return ok({ events: page.events.map(presentAuditEvent), next_cursor: page.nextCursor });
      },
      {
        query: AuditQuery,
        detail: { summary: "The owner's security events, newest first", tags: ["foundation"] },
      },
    )
    .get(
      "/api/v1/admin/audit",
      async ({ request, query }) => {
        requireAdmin(ctx, request);
        const page = await ctx.auditStore.listByOwner(null, query.limit ?? 50, query.before ?? null);
        return ok({ events: page.events.map(presentAuditEvent), next_cursor: page.nextCursor });
      },
      {
        query: AuditQuery,
        detail: { summary: "System events (key rotation), newest first", tags: ["admin"] },
      },
    );
}
