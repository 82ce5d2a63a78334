import type { Revocation, RevocationKind } from "../../modules/revocation/entry.ts";
import { type BigintColumn, millis } from "./millis.ts";

/** A `passport_revocations` row, as the SQLite and PostgreSQL stores read it. */
export interface RevocationRow {
  kind: string;
  subject_id: string;
  /** `agent_key` entries only (SQLite migration 9, PostgreSQL migration 6). */
  agent_id: string | null;
  revoked_at: BigintColumn;
  expires_at: BigintColumn;
}

export function toRevocation(row: RevocationRow): Revocation {
  return {
    kind: row.kind as RevocationKind,
    subjectId: row.subject_id,
    ...(row.agent_id !== null && { agentId: row.agent_id }),
    revokedAt: millis(row.revoked_at),
    expiresAt: millis(row.expires_at),
  };
}
