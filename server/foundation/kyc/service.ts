/** KYC levels: 0 none, 1 email verified, 2 identity verified by an operator or a verifier. */

import { type Clock, isoTime } from "../../clock.ts";
import { DomainError } from "../../errors.ts";
import { type AuditRecorder, ownerAction } from "../audit/service.ts";
import type { KycLevel, UserRecord, UserStore } from "../users/store.ts";
import type { KycStore, KycSubmissionRecord } from "./store.ts";
import type { KycVerifier } from "./verifier.ts";

export interface KycDeps {
  clock: Clock;
  users: UserStore;
  kyc: KycStore;
  kycVerifier: KycVerifier;
  audit: AuditRecorder;
  emailVerification: boolean;
}

export async function submitKyc(deps: KycDeps, user: UserRecord, ip: string): Promise<KycSubmissionRecord> {
  if (user.kycLevel >= 2) throw new DomainError("KYC_LEVEL_ALREADY_GRANTED", "Identity is already verified.");
  if (deps.emailVerification && user.emailVerifiedAt === null) {
    throw new DomainError("EMAIL_NOT_VERIFIED", "Verify your email before asking for identity verification.");
  }
  const submission: KycSubmissionRecord = {
    id: crypto.randomUUID(),
    userId: user.id,
    requestedLevel: 2,
    status: "PENDING",
    createdAt: deps.clock.now(),
    decidedAt: null,
    decidedBy: null,
  };
  if (!(await deps.kyc.create(submission))) {
    throw new DomainError("KYC_SUBMISSION_PENDING", "A KYC submission is already waiting for a decision.");
  }
  await deps.audit(ownerAction(user.id, "kyc.submitted", { type: "kyc_submission", id: submission.id }, ip));
  const review = await deps.kycVerifier.review(submission);
  if (review.decision === "pending") return submission;
  const now = deps.clock.now();
  const status = review.decision === "approved" ? "APPROVED" : "REJECTED";
  if (status === "APPROVED") await deps.users.setKycLevel(user.id, 2, now);
  await deps.kyc.decidePending(user.id, status, now, "verifier");
  await deps.audit({
    ownerId: user.id,
    actorType: "system",
    actorId: "kyc-verifier",
    action: "kyc.decided",
    outcome: status === "APPROVED" ? "success" : "failure",
    targetType: "user",
    targetId: user.id,
  });
  return { ...submission, status, decidedAt: now, decidedBy: "verifier" };
}

/** An operator sets the owner's level; pending submissions close as approved (level 2) or rejected. */
export async function decideKyc(
  deps: KycDeps,
  userId: string,
  level: KycLevel,
  ip: string,
): Promise<UserRecord> {
  const now = deps.clock.now();
  const user = await deps.users.setKycLevel(userId, level, now);
  if (!user) throw new DomainError("USER_NOT_FOUND", "No such user.");
  await deps.kyc.decidePending(userId, level >= 2 ? "APPROVED" : "REJECTED", now, "admin");
  await deps.audit({
    ownerId: userId,
    actorType: "admin",
    action: "admin.kyc_level_set",
    targetType: "user",
    targetId: userId,
    reason: `level=${level}`,
    ip,
  });
  return user;
}

export function presentSubmission(s: KycSubmissionRecord) {
  return {
    submission_id: s.id,
    user_id: s.userId,
    requested_level: s.requestedLevel,
    status: s.status,
    created_at: isoTime(s.createdAt),
    decided_at: s.decidedAt === null ? null : isoTime(s.decidedAt),
  };
}
