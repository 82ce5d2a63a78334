import type { Database } from "bun:sqlite";
import type { AuditStore } from "../../foundation/audit/store.ts";
import { type AuditRow, toAuditPage } from "../sql-rows/audit.ts";

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
      return toAuditPage(page.all(ownerId, before ?? Number.MAX_SAFE_INTEGER, limit + 1), limit);
    },
  };
}
