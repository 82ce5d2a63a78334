import type { Database } from "bun:sqlite";
import type { AuditEventRecord, AuditStore } from "../../foundation/audit/store.ts";
import { type AuditRow, toAuditPage } from "../sql-rows/audit.ts";

/**
 * One `audit_events` INSERT, prepared once. Other stores run it inside the
 * transaction of the action an event records (e.g. the agent login's
 * approval), so the row commits with that action and costs no commit of its own.
 */
export function prepareAuditInsert(db: Database): (event: AuditEventRecord) => void {
  const insert = db.query(
    `INSERT INTO audit_events (id, occurred_at, owner_id, actor_type, actor_id, action, outcome, target_type,
       target_id, reason, ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return (e) => {
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
  };
}

export function createSqliteAuditStore(db: Database): AuditStore {
  const insert = prepareAuditInsert(db);
  // `IS` matches NULL as well as a value, so one statement serves owners and system events.
  const page = db.query<AuditRow, [string | null, number, number]>(
    "SELECT * FROM audit_events WHERE owner_id IS ? AND seq < ? ORDER BY seq DESC LIMIT ?",
  );
  return {
    async append(e) {
      insert(e);
    },
    async listByOwner(ownerId, limit, before) {
      return toAuditPage(page.all(ownerId, before ?? Number.MAX_SAFE_INTEGER, limit + 1), limit);
    },
  };
}
