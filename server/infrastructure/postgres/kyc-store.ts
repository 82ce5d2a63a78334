import type { KycStore } from "../../foundation/kyc/store.ts";
import { type KycRow, toSubmission } from "../sql-rows/kyc.ts";
import type { Sql } from "./connection.ts";

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
