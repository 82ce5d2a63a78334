import type { AuditActorType, AuditEventRecord, AuditStore } from "../../foundation/audit/store.ts";
import type { Sql } from "./connection.ts";
import { type BigintColumn, millis } from "./millis.ts";

interface AuditRow {
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

function toEvent(row: AuditRow): AuditEventRecord {
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

export function createPostgresAuditStore(sql: Sql): AuditStore {
  return {
    async append(e) {
      await sql`
        INSERT INTO audit_events (id, occurred_at, owner_id, actor_type, actor_id, action, outcome, target_type,
          target_id, reason, ip)
        VALUES (${e.id}, ${e.occurredAt}, ${e.ownerId}, ${e.actorType}, ${e.actorId}, ${e.action}, ${e.outcome},
                ${e.targetType}, ${e.targetId}, ${e.reason}, ${e.ip})`;
    },
    async listByOwner(ownerId, limit, before) {
      const cursor = before ?? Number.MAX_SAFE_INTEGER;
      // Two statements rather than IS NOT DISTINCT FROM, which PostgreSQL cannot answer from the
      // (owner_id, seq) index; one row beyond the page tells whether there is a next one.
      const rows: AuditRow[] =
        ownerId === null
          ? await sql`SELECT * FROM audit_events WHERE owner_id IS NULL AND seq < ${cursor}
                      ORDER BY seq DESC LIMIT ${limit + 1}`
          : await sql`SELECT * FROM audit_events WHERE owner_id = ${ownerId} AND seq < ${cursor}
                      ORDER BY seq DESC LIMIT ${limit + 1}`;
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      return { events: kept.map(toEvent), nextCursor: more ? Number(kept[kept.length - 1]!.seq) : null };
    },
  };
}
