import type { AuditEventRecord, AuditStore } from "../../foundation/audit/store.ts";
import { type AuditRow, toAuditPage } from "../sql-rows/audit.ts";
import type { Sql } from "./connection.ts";

/**
 * One `audit_events` INSERT on `sql`, which may be a transaction: other
 * stores write the rows recording an action in that action's transaction
 * (e.g. the agent login's approval), so they commit with it or not at all.
 */
export async function insertAuditEvent(sql: Sql, e: AuditEventRecord): Promise<void> {
  await sql`
    INSERT INTO audit_events (id, occurred_at, owner_id, actor_type, actor_id, action, outcome, target_type,
      target_id, reason, ip)
    VALUES (${e.id}, ${e.occurredAt}, ${e.ownerId}, ${e.actorType}, ${e.actorId}, ${e.action}, ${e.outcome},
            ${e.targetType}, ${e.targetId}, ${e.reason}, ${e.ip})`;
}

export function createPostgresAuditStore(sql: Sql): AuditStore {
  return {
    async append(e) {
      await insertAuditEvent(sql, e);
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
      return toAuditPage(rows, limit);
    },
  };
}
