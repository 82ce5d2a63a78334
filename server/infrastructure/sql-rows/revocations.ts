import type { Revocation, RevocationKind } from "../../modules/revocation/entry.ts";
import { type BigintColumn, millis } from "./millis.ts";

/** A `passport_revocations` row, as the SQLite and PostgreSQL stores read it. */
export interface RevocationRow {
  kind: string;
  subject_id: string;
  revoked_at: BigintColumn;
  expires_at: BigintColumn;
}

export function toRevocation(row: RevocationRow): Revocation {
  return {
    kind: row.kind as RevocationKind,
    subjectId: row.subject_id,
    revokedAt: millis(row.revoked_at),
    expiresAt: millis(row.expires_at),
  };
}
