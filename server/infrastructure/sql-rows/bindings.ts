import type {
  BindingCursor,
  BindingPage,
  BindingRecord,
  BindingStatus,
} from "../../modules/bindings/store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** A `bindings` row, as the SQLite and PostgreSQL stores read it. */
export interface BindingRow {
  id: string;
  site_id: string;
  redirect_uri: string;
  status: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
  agent_id: string | null;
  owner_id: string | null;
  decided_at: BigintColumn | null;
  revoked_at: BigintColumn | null;
}

export function toBinding(row: BindingRow): BindingRecord {
  return {
    id: row.id,
    siteId: row.site_id,
    redirectUri: row.redirect_uri,
    status: row.status as BindingStatus,
    createdAt: millis(row.created_at),
    expiresAt: millis(row.expires_at),
    agentId: row.agent_id,
    ownerId: row.owner_id,
    decidedAt: millisOrNull(row.decided_at),
    revokedAt: millisOrNull(row.revoked_at),
  };
}

/** A page of an owner's decided bindings, newest decision first, from up to `limit + 1` rows: the extra row says whether another page follows. */
export function toBindingPage(rows: BindingRow[], limit: number): BindingPage {
  const bindings = rows.slice(0, limit).map(toBinding);
  const last = bindings.at(-1);
  const nextCursor: BindingCursor | null =
    rows.length > limit && last ? { decidedAt: last.decidedAt!, id: last.id } : null;
  return { bindings, nextCursor };
}
