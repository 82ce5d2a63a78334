import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireAdmin, requireOwner } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import {
  ADMIN,
  ADMIN_FAILURES,
  answers,
  INPUT_FAILURES,
  OWNER_READ_FAILURES,
  OWNER_SESSION,
  OWNER_WRITE_FAILURES,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import { presentUser } from "../users/routes.ts";
import { UserView } from "../users/schemas.ts";
import type { KycLevel } from "../users/store.ts";
import {
  KycDecisionBody,
  KycSubmissionBody,
  KycSubmissionView,
  OwnerKycStatus,
  PendingKycSubmissions,
  UserIdParams,
} from "./schemas.ts";
import { decideKyc, presentSubmission, submitKyc } from "./service.ts";

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
      {
        body: KycSubmissionBody,
        response: answers(201, KycSubmissionView, [
          ...INPUT_FAILURES,
          ...OWNER_WRITE_FAILURES,
          "KYC_LEVEL_ALREADY_GRANTED",
          "EMAIL_NOT_VERIFIED",
          "KYC_SUBMISSION_PENDING",
        ]),
        detail: {
          summary: "Ask for KYC level 2 (identity verified)",
          description:
            "The submission waits for an operator (or is decided at once by a configured verifier). " +
            "With email verification on, the email must be verified first.",
          operationId: "submitKyc",
          security: OWNER_SESSION,
        },
      },
    )
    .get(
      "/api/v1/foundation/kyc/submissions",
      async ({ request }) => {
        const { user } = await requireOwner(ctx, request);
        const submissions = await ctx.kyc.kyc.listByUser(user.id);
        return ok({ kyc_level: user.kycLevel, submissions: submissions.map(presentSubmission) });
      },
      {
        response: answers(200, OwnerKycStatus, OWNER_READ_FAILURES),
        detail: {
          summary: "The owner's KYC level and submissions",
          operationId: "getKycStatus",
          security: OWNER_SESSION,
        },
      },
    )
    .get(
      "/api/v1/admin/kyc/submissions",
      async ({ request }) => {
        requireAdmin(ctx, request);
        const pending = await ctx.kyc.kyc.listPending(100);
        return ok({ submissions: pending.map(presentSubmission) });
      },
      {
        response: answers(200, PendingKycSubmissions, ADMIN_FAILURES),
        detail: {
          summary: "Pending KYC submissions (operator)",
          description: "Oldest first, at most 100.",
          operationId: "listPendingKycSubmissions",
          security: ADMIN,
          tags: ["admin"],
        },
      },
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
        response: answers(200, UserView, [...INPUT_FAILURES, ...ADMIN_FAILURES, "USER_NOT_FOUND"]),
        detail: {
          summary: "Set an owner's KYC level (operator)",
          description:
            "Pending submissions of the owner close as APPROVED (level 2) or REJECTED (lower levels).",
          operationId: "setOwnerKycLevel",
          security: ADMIN,
          tags: ["admin"],
        },
      },
    );
}
