import type { KycStore, KycSubmissionRecord, KycSubmissionStatus } from "../../foundation/kyc/store.ts";
import type { KycLevel } from "../../foundation/users/store.ts";
import type { Sql } from "./connection.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

interface KycRow {
  id: string;
  user_id: string;
  requested_level: number;
  status: string;
  created_at: BigintColumn;
  decided_at: BigintColumn | null;
  decided_by: string | null;
}

function toSubmission(row: KycRow): KycSubmissionRecord {
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

export function createPostgresKycStore(sql: Sql): KycStore {
  return {
    async create(s) {
      // The partial unique index allows one PENDING submission per owner; a
      // concurrent second insert waits for the first to commit, then does nothing.
      const result = await sql`
        INSERT INTO kyc_submissions (id, user_id, requested_level, status, created_at, decided_at, decided_by)
        VALUES (${s.id}, ${s.userId}, ${s.requestedLevel}, 'PENDING', ${s.createdAt}, NULL, NULL)
        ON CONFLICT DO NOTHING`;
      return result.count === 1;
    },
    async listByUser(userId) {
      // "C" orders the tiebreak by bytes, as SQLite's BINARY collation does, whatever the database's locale.
      const rows: KycRow[] = await sql`SELECT * FROM kyc_submissions WHERE user_id = ${userId}
                                       ORDER BY created_at DESC, id COLLATE "C"`;
      return rows.map(toSubmission);
    },
    async listPending(limit) {
      const rows: KycRow[] = await sql`SELECT * FROM kyc_submissions WHERE status = 'PENDING'
                                       ORDER BY created_at LIMIT ${limit}`;
      return rows.map(toSubmission);
    },
    async decidePending(userId, status, at, decidedBy) {
      const result = await sql`
        UPDATE kyc_submissions SET status = ${status}, decided_at = ${at}, decided_by = ${decidedBy}
        WHERE user_id = ${userId} AND status = 'PENDING'`;
      return result.count;
    },
  };
}
