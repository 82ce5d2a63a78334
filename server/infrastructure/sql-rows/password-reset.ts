import type { PasswordResetRecord } from "../../foundation/users/password-reset-store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** A `password_reset_tokens` row, as the SQLite and PostgreSQL stores read it. */
export interface ResetRow {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
  used_at: BigintColumn | null;
}

export function toReset(row: ResetRow): PasswordResetRecord {
  return {
    id: row.id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    createdAt: millis(row.created_at),
    expiresAt: millis(row.expires_at),
    usedAt: millisOrNull(row.used_at),
  };
}
