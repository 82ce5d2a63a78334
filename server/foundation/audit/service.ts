/** Records and lists security-relevant events. */

import { type Clock, isoTime } from "../../clock.ts";
import type { AuditActorType, AuditEventRecord, AuditStore } from "./store.ts";

export interface AuditEntry {
  ownerId: string | null;
  actorType: AuditActorType;
  actorId?: string | null;
  action: string;
  outcome?: "success" | "failure";
  targetType?: string | null;
  targetId?: string | null;
  reason?: string | null;
  ip?: string | null;
}

export type AuditRecorder = (entry: AuditEntry) => Promise<void>;

/**
 * The entry for an owner acting on their account or on what they own: the
 * event goes to their own trail and they are its actor.
 *
 * @example
 * await deps.audit(ownerAction(owner.id, "site.created", { type: "site", id: site.id }, ip));
 */
export function ownerAction(
  ownerId: string,
  action: string,
  target: { type: string; id: string } | null,
  ip: string | null,
): AuditEntry {
  return {
    ownerId,
    actorType: "owner",
    actorId: ownerId,
    action,
    targetType: target?.type ?? null,
    targetId: target?.id ?? null,
    ip,
  };
}

/**
 * The stored row for `entry`, occurring at `at`. A store that records the
 * action itself writes these rows in the action's own transaction (e.g. the
 * agent login's create and approve): the trail then holds the entry exactly
 * when the action committed, in one commit instead of two.
 */
export function auditEvent(entry: AuditEntry, at: number): AuditEventRecord {
  return {
    id: crypto.randomUUID(),
    occurredAt: at,
    ownerId: entry.ownerId,
    actorType: entry.actorType,
    actorId: entry.actorId ?? null,
    action: entry.action,
    outcome: entry.outcome ?? "success",
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    reason: entry.reason ?? null,
    ip: entry.ip ?? null,
  };
}

export function createAuditRecorder(store: AuditStore, clock: Clock): AuditRecorder {
  return async (entry) => {
    await store.append(auditEvent(entry, clock.now()));
  };
}

export function presentAuditEvent(event: AuditEventRecord) {
  return {
    event_id: event.id,
    occurred_at: isoTime(event.occurredAt),
    action: event.action,
    outcome: event.outcome,
    actor: { type: event.actorType, id: event.actorId },
    target: event.targetType === null ? null : { type: event.targetType, id: event.targetId },
    reason: event.reason,
    ip: event.ip,
  };
}
