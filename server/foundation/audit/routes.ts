import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireAdmin, requireOwner } from "../../http/auth.ts";
import { ADMIN, ADMIN_FAILURES, answers, OWNER_READ_FAILURES, OWNER_SESSION } from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import { AuditPage, AuditQuery } from "./schemas.ts";
import { presentAuditEvent } from "./service.ts";

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
        response: answers(200, AuditPage, ["VALIDATION_FAILED", ...OWNER_READ_FAILURES]),
        detail: {
          summary: "The owner's security events, newest first",
          operationId: "listOwnerAuditEvents",
          security: OWNER_SESSION,
          tags: ["foundation"],
        },
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
        response: answers(200, AuditPage, ["VALIDATION_FAILED", ...ADMIN_FAILURES]),
        detail: {
          summary: "System events (key rotation), newest first",
          description: "Events that belong to no owner, such as signing-key rotations.",
          operationId: "listSystemAuditEvents",
          security: ADMIN,
          tags: ["admin"],
        },
      },
    );
}
