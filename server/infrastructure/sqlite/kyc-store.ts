import type { Database } from "bun:sqlite";
import type { KycStore } from "../../foundation/kyc/store.ts";
import { type KycRow, toSubmission } from "../sql-rows/kyc.ts";

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
