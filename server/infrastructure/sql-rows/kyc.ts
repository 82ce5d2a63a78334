import type { KycSubmissionRecord, KycSubmissionStatus } from "../../foundation/kyc/store.ts";
import type { KycLevel } from "../../foundation/users/store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** A `kyc_submissions` row, as the SQLite and PostgreSQL stores read it. */
export interface KycRow {
  id: string;
  user_id: string;
  requested_level: number;
  status: string;
  created_at: BigintColumn;
  decided_at: BigintColumn | null;
  decided_by: string | null;
}

export function toSubmission(row: KycRow): KycSubmissionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    requestedLevel: row.requested_level as KycLevel,
    status: row.status as KycSubmissionStatus,
    createdAt: millis(row.created_at),
    decidedAt: millisOrNull(row.decided_at),
    decidedBy: row.decided_by,
  };
}
