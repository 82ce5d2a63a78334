import { Elysia, t } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireAdmin, requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import { ok } from "../../http/envelope.ts";
import { JsonInteger } from "../../http/schema-types.ts";
import { presentUser } from "../users/routes.ts";
import type { KycLevel } from "../users/store.ts";
import { decideKyc, presentSubmission, submitKyc } from "./service.ts";

const UserIdParams = t.Object({ id: t.String({ format: "uuid" }) });
const KycDecisionBody = t.Object({ level: JsonInteger({ minimum: 0, maximum: 2 }) });
const KycSubmissionBody = t.Optional(t.Object({ level: t.Optional(t.Literal(2)) }));

export function kycRoutes(ctx: AppContext) {
  const { config } = ctx;
  return new Elysia({ tags: ["foundation"] })
    .post(
      "/api/v1/foundation/kyc/submissions",
      async ({ request, set }) => {
        const { user } = await requireOwner(ctx, request);
        const submission = await submitKyc(ctx.kyc, user, clientAddress(request, config.trustProxy));
        set.status = 201;
        return ok(presentSubmission(submission));
      },
      { body: KycSubmissionBody, detail: { summary: "Ask for KYC level 2 (identity verified)" } },
    )
    .get(
      "/api/v1/foundation/kyc/submissions",
      async ({ request }) => {
        const { user } = await requireOwner(ctx, request);
        const submissions = await ctx.kyc.kyc.listByUser(user.id);
        return ok({ kyc_level: user.kycLevel, submissions: submissions.map(presentSubmission) });
      },
      { detail: { summary: "The owner's KYC level and submissions" } },
    )
    .get(
      "/api/v1/admin/kyc/submissions",
      async ({ request }) => {
        requireAdmin(ctx, request);
        const pending = await ctx.kyc.kyc.listPending(100);
        return ok({ submissions: pending.map(presentSubmission) });
      },
      { detail: { summary: "Pending KYC submissions (operator)", tags: ["admin"] } },
    )
    .post(
      "/api/v1/admin/users/:id/kyc",
      async ({ request, params, body }) => {
        requireAdmin(ctx, request);
        const ip = clientAddress(request, config.trustProxy);
        const user = await decideKyc(ctx.kyc, params.id, body.level as KycLevel, ip);
        return ok(presentUser(user));
      },
      {
        params: UserIdParams,
        body: KycDecisionBody,
        detail: { summary: "Set an owner's KYC level (operator)", tags: ["admin"] },
      },
    );
}
