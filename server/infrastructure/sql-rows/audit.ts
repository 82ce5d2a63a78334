import type { AuditActorType, AuditEventRecord, AuditPage } from "../../foundation/audit/store.ts";
import { type BigintColumn, millis } from "./millis.ts";

/** An `audit_events` row, as the SQLite and PostgreSQL stores read it. */
export interface AuditRow {
  seq: BigintColumn;
  id: string;
  occurred_at: BigintColumn;
  owner_id: string | null;
  actor_type: string;
  actor_id: string | null;
  action: string;
  outcome: string;
  target_type: string | null;
  target_id: string | null;
  reason: string | null;
  ip: string | null;
}

export function toEvent(row: AuditRow): AuditEventRecord {
  return {
    id: row.id,
    occurredAt: millis(row.occurred_at),
    ownerId: row.owner_id,
    actorType: row.actor_type as AuditActorType,
    actorId: row.actor_id,
    action: row.action,
    outcome: row.outcome === "failure" ? "failure" : "success",
    targetType: row.target_type,
    targetId: row.target_id,
    reason: row.reason,
    ip: row.ip,
  };
}

/** A page from up to `limit + 1` rows, newest first: the row beyond the page tells whether there is a next one. */
export function toAuditPage(rows: AuditRow[], limit: number): AuditPage {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { events: kept.map(toEvent), nextCursor: more ? Number(kept[kept.length - 1]!.seq) : null };
}
