/** The models of the KYC routes: what they take and what they answer (server/http/contract.ts). */

import { t } from "elysia";
import { IsoTime, JsonInteger, Nullable } from "../../http/schema-types.ts";
import { KycLevelView } from "../users/schemas.ts";

export const UserIdParams = t.Object({ id: t.String({ format: "uuid" }) });

export const KycDecisionBody = t.Object({ level: JsonInteger({ minimum: 0, maximum: 2 }) });

/** `{}`, `{level: 2}` or no body at all: level 2 is the only level one asks for. */
export const KycSubmissionBody = t.Optional(t.Object({ level: t.Optional(t.Literal(2)) }));

/** A request for a higher level, as `presentSubmission` writes it (service.ts). */
export const KycSubmissionView = t.Object({
  submission_id: t.String({ format: "uuid" }),
  user_id: t.String({ format: "uuid" }),
  requested_level: t.Number({
    minimum: 1,
    maximum: 2,
    multipleOf: 1,
    description: "The level asked for: 2 (identity verified) for every submission this server takes.",
  }),
  status: t.Union([t.Literal("PENDING"), t.Literal("APPROVED"), t.Literal("REJECTED")]),
  created_at: IsoTime,
  decided_at: Nullable(IsoTime),
});

/** `GET /api/v1/foundation/kyc/submissions`: the owner's level and every submission they made. */
export const OwnerKycStatus = t.Object({
  kyc_level: KycLevelView,
  submissions: t.Array(KycSubmissionView),
});

/** `GET /api/v1/admin/kyc/submissions`: the pending submissions, oldest first (at most 100). */
export const PendingKycSubmissions = t.Object({ submissions: t.Array(KycSubmissionView) });
