/**
 * Agent Binding requests: a site asks for one of its user's agents, the
 * user picks one (or declines) on LIME's hosted connect page. Kept behind
 * this interface so another backend can take over; the single-use steps
 * (`complete`, `deny`) must be atomic compare-and-set on PENDING and unexpired.
 */

/**
 * PENDING → COMPLETED | DENIED | EXPIRED; COMPLETED → REVOKED (by the owner).
 * See docs/decisions/agent-binding.md.
 */
export type BindingStatus = "PENDING" | "COMPLETED" | "DENIED" | "EXPIRED" | "REVOKED";

export interface BindingRecord {
  id: string;
  siteId: string;
  /** Where the browser goes afterwards; on the site's origin when the request was created. */
  redirectUri: string;
  status: BindingStatus;
  createdAt: number;
  expiresAt: number;
  /** The agent picked (COMPLETED, REVOKED). */
  agentId: string | null;
  /** The owner who completed the binding, or the signed-in user who declined it. */
  ownerId: string | null;
  /** When it was completed or declined. */
  decidedAt: number | null;
  revokedAt: number | null;
}

export interface CompleteInput {
  id: string;
  agentId: string;
  ownerId: string;
  now: number;
}

export interface DenyInput {
  id: string;
  ownerId: string | null;
  now: number;
}

/** A position in an owner's list of bindings: the last one of the previous page. */
export interface BindingCursor {
  decidedAt: number;
  id: string;
}

export interface BindingPage {
  bindings: BindingRecord[];
  /** Pass back as `before` for the next (older) page; null at the end. */
  nextCursor: BindingCursor | null;
}

export interface BindingStore {
  create(binding: BindingRecord): Promise<void>;
  findById(id: string): Promise<BindingRecord | null>;
  /** The single-use step: PENDING and unexpired at `now` → COMPLETED; null when it was not. */
  complete(input: CompleteInput): Promise<BindingRecord | null>;
  /** The other single-use step: PENDING and unexpired at `now` → DENIED; null when it was not. */
  deny(input: DenyInput): Promise<BindingRecord | null>;
  /** At most `limit` PENDING requests past their expiry → EXPIRED, oldest expiry first. */
  expireDue(now: number, limit: number): Promise<BindingRecord[]>;
  /** COMPLETED → REVOKED, only for the owner who completed it; null otherwise. */
  revoke(id: string, ownerId: string, now: number): Promise<BindingRecord | null>;
  /** The owner's COMPLETED and REVOKED bindings, most recently decided first. */
  listByOwner(ownerId: string, limit: number, before: BindingCursor | null): Promise<BindingPage>;
  /** Deletes at most `limit` DENIED or EXPIRED requests that expired before `expiredBefore`. */
  purgeFinished(expiredBefore: number, limit: number): Promise<number>;
}
