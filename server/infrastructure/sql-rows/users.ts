import type { KycLevel, UserRecord } from "../../foundation/users/store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** A `users` row, as the SQLite and PostgreSQL stores read it. */
export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  email_verified_at: BigintColumn | null;
  kyc_level: number;
  created_at: BigintColumn;
  updated_at: BigintColumn;
}

export function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    emailVerifiedAt: millisOrNull(row.email_verified_at),
    kycLevel: row.kyc_level as KycLevel,
    createdAt: millis(row.created_at),
    updatedAt: millis(row.updated_at),
  };
}
