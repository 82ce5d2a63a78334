/** Requests by owners for a higher KYC level, decided by an operator or a verifier. */

import type { KycLevel } from "../users/store.ts";

export type KycSubmissionStatus = "PENDING" | "APPROVED" | "REJECTED";

export interface KycSubmissionRecord {
  id: string;
  userId: string;
  requestedLevel: KycLevel;
  status: KycSubmissionStatus;
  createdAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
}

export interface KycStore {
  /** Inserts a PENDING submission; `false` when the owner already has one pending. */
  create(submission: KycSubmissionRecord): Promise<boolean>;
  listByUser(userId: string): Promise<KycSubmissionRecord[]>;
  listPending(limit: number): Promise<KycSubmissionRecord[]>;
  /** Closes every pending submission of the owner; returns how many it closed. */
  decidePending(
    userId: string,
    status: "APPROVED" | "REJECTED",
    at: number,
    decidedBy: string,
  ): Promise<number>;
}
