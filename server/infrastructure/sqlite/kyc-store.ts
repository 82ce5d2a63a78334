import type { Database } from "bun:sqlite";
import type { KycStore, KycSubmissionRecord, KycSubmissionStatus } from "../../foundation/kyc/store.ts";
import type { KycLevel } from "../../foundation/users/store.ts";

interface KycRow {
  id: string;
  user_id: string;
  requested_level: number;
  status: string;
  created_at: number;
  decided_at: number | null;
  decided_by: string | null;
}

function toSubmission(row: KycRow): KycSubmissionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    requestedLevel: row.requested_level as KycLevel,
    status: row.status as KycSubmissionStatus,
    createdAt: row.created_at,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
  };
}

export function createSqliteKycStore(db: Database): KycStore {
  // The partial unique index allows one PENDING submission per owner.
  const insert = db.query(
    `INSERT INTO kyc_submissions (id, user_id, requested_level, status, created_at, decided_at, decided_by)
     VALUES (?, ?, ?, 'PENDING', ?, NULL, NULL) ON CONFLICT DO NOTHING`,
  );
  const byUser = db.query<KycRow, [string]>(
    "SELECT * FROM kyc_submissions WHERE user_id = ? ORDER BY created_at DESC, id",
  );
  const pending = db.query<KycRow, [number]>(
    "SELECT * FROM kyc_submissions WHERE status = 'PENDING' ORDER BY created_at LIMIT ?",
  );
  const decide = db.query(
    "UPDATE kyc_submissions SET status = ?, decided_at = ?, decided_by = ? WHERE user_id = ? AND status = 'PENDING'",
  );
  return {
    async create(s) {
      return insert.run(s.id, s.userId, s.requestedLevel, s.createdAt).changes === 1;
    },
    async listByUser(userId) {
      return byUser.all(userId).map(toSubmission);
    },
    async listPending(limit) {
      return pending.all(limit).map(toSubmission);
    },
    async decidePending(userId, status, at, decidedBy) {
      return decide.run(status, at, decidedBy, userId).changes;
    },
  };
}
