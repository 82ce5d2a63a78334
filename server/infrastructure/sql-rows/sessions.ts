import type { SessionRecord } from "../../foundation/sessions/store.ts";
import { type BigintColumn, millis } from "./millis.ts";

/** A `sessions` row, as the SQLite and PostgreSQL stores read it. */
export interface SessionRow {
  id: string;
  user_id: string;
  token_hash: string;
  csrf_hash: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
}

export function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    csrfHash: row.csrf_hash,
    createdAt: millis(row.created_at),
    expiresAt: millis(row.expires_at),
  };
}
