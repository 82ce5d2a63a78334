/**
 * Revocation that reaches sites (docs/revocation.md, and the reasons in
 * docs/decisions/revocation-push.md). When an owner revokes an agent,
 * rotates its token or revokes a binding, or an agent or its owner revokes
 * one of the agent's signing keys, two things happen, in this order:
 *
 * 1. the revocation is recorded in the list every site and SDK can poll
 *    (`GET /api/v1/core/revocations`, signed with the passport keys), kept
 *    until every passport it covers has expired;
 * 2. a `revoked` outcome is appended to the event stream of every site that
 *    has seen the agent (logged-in sites and binding holders) or holds the
 *    binding, and fanned out like login outcomes (stored, replayable with
 *    Last-Event-ID, across a fleet through Redis or LISTEN/NOTIFY).
 *
 * The list is the source of truth: a push that fails is logged, not
 * retried, since every SDK also polls the list.
 */

import { BINDING_MAX_LIFETIME_SECONDS } from "@lime-ts/core/passport";
import type { Clock } from "../../clock.ts";
import type { Lifetimes } from "../../config.ts";
import type { Logger } from "../../infrastructure/logger.ts";
import type { AgentLoginStore, OutcomeFanout } from "../agent-login/store.ts";
import { type Revocation, type RevocationKind, revocationWire } from "./entry.ts";
import type { RevocationStore } from "./store.ts";

/**
 * Added to a passport's lifetime before its entry leaves the list: a verifier
 * accepts a passport up to its clock tolerance after `exp` (the core allows at
 * most 300 s), so the entry must outlive that too. The same slack keeps
 * retired signing keys published (server/core/keys/service.ts).
 */
export const REVOCATION_SLACK_MS = 5 * 60_000;

export interface RevocationDeps {
  clock: Clock;
  store: RevocationStore;
  outcomes: Pick<AgentLoginStore, "appendRevoked">;
  fanout: OutcomeFanout;
  logger: Logger;
  lifetimes: Pick<Lifetimes, "siteLoginPassportMs" | "passportMs" | "eventRetentionMs">;
  /** Told after every recorded revocation, so the list served here is rebuilt at once. */
  onRecorded?(): void;
}

/** What the owner-facing services call; absent in deps of tests that do not care. */
export interface RevocationHooks {
  /** The agent was (or is about to be) revoked: every passport of it is refused. */
  agentRevoked(agentId: string, now: number): Promise<void>;
  /** The agent's token was rotated at `now`: its passports issued before are refused. */
  agentTokenRotated(agentId: string, now: number): Promise<void>;
  /** The binding was revoked at `revokedAt`; `push` is false when this only re-records an old revocation. */
  bindingRevoked(bindingId: string, siteId: string, revokedAt: number, push: boolean): Promise<void>;
  /**
   * The agent's signing key `jkt` was revoked: passports bound to it are
   * refused. Told to the same sites as the agent's own revocation.
   */
  agentKeyRevoked(agentId: string, jkt: string, now: number): Promise<void>;
}

/** How long an entry stays: until every passport it can cover has expired, plus the slack. */
export function coverMs(kind: RevocationKind, lifetimes: RevocationDeps["lifetimes"]): number {
  const bindingMs = BINDING_MAX_LIFETIME_SECONDS * 1000;
  const longest =
    kind === "binding" ? bindingMs : Math.max(lifetimes.siteLoginPassportMs, lifetimes.passportMs, bindingMs);
  return longest + REVOCATION_SLACK_MS;
}

export function createRevocationHooks(deps: RevocationDeps): RevocationHooks {
  const revoke = async (
    kind: RevocationKind,
    subjectId: string,
    at: number,
    sites: () => Promise<string[]>,
    agentId?: string,
  ) => {
    const revocation: Revocation = {
      kind,
      subjectId,
      ...(agentId !== undefined && { agentId }),
      revokedAt: at,
      expiresAt: at + coverMs(kind, deps.lifetimes),
    };
    await deps.store.record(revocation);
    deps.onRecorded?.();
    await push(revocation, sites);
  };

  const push = async (revocation: Revocation, sites: () => Promise<string[]>) => {
    const now = deps.clock.now();
    try {
      const siteIds = await sites();
      if (siteIds.length === 0) return;
      // Replayable at least as long as a login outcome, and as long as the list holds the entry.
      const expiresAt = Math.max(revocation.expiresAt, now + deps.lifetimes.eventRetentionMs);
      const events = await deps.outcomes.appendRevoked(siteIds, revocationWire(revocation), now, expiresAt);
      for (const event of events) deps.fanout.publish(event);
    } catch (error) {
      deps.logger.error("could not push a revocation to its sites; they learn it from the list", {
        kind: revocation.kind,
        subject_id: revocation.subjectId,
        error: String(error),
      });
    }
  };

  return {
    agentRevoked: (agentId, now) => revoke("agent", agentId, now, () => deps.store.sitesOfAgent(agentId)),
    agentTokenRotated: (agentId, now) =>
      revoke("agent_token", agentId, now, () => deps.store.sitesOfAgent(agentId)),
    agentKeyRevoked: (agentId, jkt, now) =>
      revoke("agent_key", jkt, now, () => deps.store.sitesOfAgent(agentId), agentId),
    async bindingRevoked(bindingId, siteId, revokedAt, shouldPush) {
      if (shouldPush) return revoke("binding", bindingId, revokedAt, async () => [siteId]);
      await deps.store.record({
        kind: "binding",
        subjectId: bindingId,
        revokedAt,
        expiresAt: revokedAt + coverMs("binding", deps.lifetimes),
      });
      deps.onRecorded?.();
    },
  };
}
