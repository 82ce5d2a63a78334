/**
 * Short-lived state of the headless agent login: requests and their outcome
 * events. Kept behind this interface so a shared store (Redis) can take over
 * when several instances serve the same sites.
 */

import type { AuditEventRecord } from "../../foundation/audit/store.ts";
import type { RevocationWire } from "../revocation/entry.ts";

export type LoginRequestStatus = "PENDING" | "APPROVED" | "DELIVERED" | "EXPIRED";

export interface LoginRequestRecord {
  id: string;
  siteId: string;
  status: LoginRequestStatus;
  powChallenge: string;
  powDifficulty: number;
  redirectUrl: string | null;
  createdAt: number;
  expiresAt: number;
  approvedAgentId: string | null;
  approvedAt: number | null;
  /** The site-login passport, kept only until it expires. */
  passportJwt: string | null;
  passportExpiresAt: number | null;
  deliveredAt: number | null;
  /** When the challenge was first fetched, which fixed `powDifficulty` for good; null until then. */
  challengeShownAt: number | null;
}

/** `revoked` tells the site an agent, an agent's token or a binding was revoked (server/modules/revocation). */
export type OutcomeType = "approved" | "expired" | "revoked";

/** One outcome for a site's event stream; `id` increases monotonically per store. */
export interface OutcomeEvent {
  id: number;
  siteId: string;
  /** null for `revoked`, which answers no login request. */
  loginRequestId: string | null;
  type: OutcomeType;
  createdAt: number;
  /** After this instant the event is neither delivered nor replayed. */
  expiresAt: number;
  deliveredAt: number | null;
  passportJwt: string | null;
  redirectUrl: string | null;
  /** `revoked` only: what was revoked, as the event carries it. */
  revocation?: RevocationWire;
}

export interface ApproveInput {
  id: string;
  agentId: string;
  passportJwt: string;
  passportExpiresAt: number;
  now: number;
  /** Audit rows recording the approval, written in its transaction: none when it does not commit. */
  audit?: readonly AuditEventRecord[];
}

export interface AgentLoginStore {
  /** Stores a new request with the audit rows recording it, in one transaction. */
  create(request: LoginRequestRecord, audit?: readonly AuditEventRecord[]): Promise<void>;
  findById(id: string): Promise<LoginRequestRecord | null>;
  /**
   * The first challenge fetch, as one conditional write: a PENDING request
   * never shown before gets `powDifficulty = max(powDifficulty, difficulty)`
   * and `challengeShownAt = now`. null when it was shown already or is no
   * longer PENDING, so of racing first fetches exactly one sets the difficulty.
   */
  showChallenge(id: string, difficulty: number, now: number): Promise<LoginRequestRecord | null>;
  /**
   * The single-use step: PENDING and unexpired at `now` → APPROVED, with the
   * `approved` outcome appended in the same transaction. null when another
   * approval won, or the request expired or does not exist.
   */
  approve(input: ApproveInput): Promise<{ request: LoginRequestRecord; event: OutcomeEvent } | null>;
  /**
   * PENDING requests past their expiry → EXPIRED, each with an `expired` outcome kept until
   * `eventExpiresAt`; oldest expiry first, in bounded batches (server/infrastructure/purge-batches.ts),
   * so a backlog larger than one call takes drains over the next calls.
   */
  expireDue(now: number, eventExpiresAt: number): Promise<OutcomeEvent[]>;
  /**
   * Appends one `revoked` outcome per site (sites that no longer exist are
   * skipped), live until `expiresAt`; returns them for the fan-out.
   */
  appendRevoked(
    siteIds: readonly string[],
    revocation: RevocationWire,
    now: number,
    expiresAt: number,
  ): Promise<OutcomeEvent[]>;
  /** Records that the event reached an open stream; moves its request APPROVED → DELIVERED. */
  markDelivered(eventId: number, now: number): Promise<void>;
  /** Outcomes of the site never written to any stream, still live at `now`, oldest first. */
  undeliveredEvents(siteId: string, now: number): Promise<OutcomeEvent[]>;
  /** Outcomes of the site with an id above `afterId`, still live at `now`, oldest first. */
  eventsAfter(siteId: string, afterId: number, now: number): Promise<OutcomeEvent[]>;
  /** The site's latest requests, newest first, for its owner's portal. */
  recentForSite(siteId: string, limit: number): Promise<LoginRequestRecord[]>;
  /** The requests an agent approved, newest first, for its owner's portal. */
  recentForAgent(agentId: string, limit: number): Promise<LoginRequestRecord[]>;
  /** Drops expired passports and events, and requests older than `requestsBefore`. */
  purge(now: number, requestsBefore: number): Promise<void>;
}

/** Fan-out of new outcomes to the open streams of a site (in process today, pub/sub later). */
export interface OutcomeFanout {
  publish(event: OutcomeEvent): void;
  subscribe(siteId: string, listener: (event: OutcomeEvent) => void): () => void;
}
