/**
 * Where a real identity-verification provider plugs in. The default leaves
 * every submission to a human operator (`POST /api/v1/admin/users/{id}/kyc`).
 */

import type { KycSubmissionRecord } from "./store.ts";

export type KycDecision = { decision: "pending" } | { decision: "approved" } | { decision: "rejected" };

export interface KycVerifier {
  review(submission: KycSubmissionRecord): Promise<KycDecision>;
}

export const manualKycVerifier: KycVerifier = {
  review: async () => ({ decision: "pending" }),
};
