import type { Database } from "bun:sqlite";
import type { AuditActorType, AuditEventRecord, AuditStore } from "../../foundation/audit/store.ts";

interface AuditRow {
  seq: number;
  id: string;
  occurred_at: number;
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

function toEvent(row: AuditRow): AuditEventRecord {
  return {
    id: row.id,
    occurredAt: row.occurred_at,
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

export function createSqliteAuditStore(db: Database): AuditStore {
  const insert = db.query(
    `INSERT INTO audit_events (id, occurred_at, owner_id, actor_type, actor_id, action, outcome, target_type,
       target_id, reason, ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // `IS` matches NULL as well as a value, so one statement serves owners and system events.
  const page = db.query<AuditRow, [string | null, number, number]>(
    "SELECT * FROM audit_events WHERE owner_id IS ? AND seq < ? ORDER BY seq DESC LIMIT ?",
  );
  return {
    async append(e) {
      insert.run(
        e.id,
        e.occurredAt,
        e.ownerId,
        e.actorType,
        e.actorId,
        e.action,
        e.outcome,
        e.targetType,
        e.targetId,
        e.reason,
        e.ip,
      );
    },
    async listByOwner(ownerId, limit, before) {
      const rows = page.all(ownerId, before ?? Number.MAX_SAFE_INTEGER, limit + 1);
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      return { events: kept.map(toEvent), nextCursor: more ? kept[kept.length - 1]!.seq : null };
    },
  };
}
