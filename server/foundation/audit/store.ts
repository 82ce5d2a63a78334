/** Append-only record of security-relevant actions. */

export type AuditActorType = "owner" | "agent" | "site" | "admin" | "system" | "anonymous";

export interface AuditEventRecord {
  id: string;
  occurredAt: number;
  /** The owner the event belongs to (who may list it), or null for system events. */
  ownerId: string | null;
  actorType: AuditActorType;
  actorId: string | null;
  /** Dotted verb, e.g. `agent.created`, `login_request.approval_rejected`. */
  action: string;
  outcome: "success" | "failure";
  targetType: string | null;
  targetId: string | null;
  /** A stable code for failures (`INVALID_POW`), never a secret. */
  reason: string | null;
  ip: string | null;
}

export interface AuditPage {
  events: AuditEventRecord[];
  /** Pass back as `before` for the next (older) page; null at the end. */
  nextCursor: number | null;
}

export interface AuditStore {
  append(event: AuditEventRecord): Promise<void>;
  /** Newest first; `before` is a cursor from an earlier page. `null` lists system events (no owner). */
  listByOwner(ownerId: string | null, limit: number, before: number | null): Promise<AuditPage>;
}
