/**
 * The revocation list's entries, and which sites have seen an agent (the
 * sites its `revoked` event goes to). Entries are kept until every passport
 * they cover has expired, so the list stays bounded by the revocations of
 * the last passport lifetime.
 */

import type { Revocation } from "./entry.ts";

export interface RevocationStore {
  /**
   * Records a revocation; for one already recorded (same kind and subject)
   * the later `revokedAt` and `expiresAt` win, so a second token rotation
   * moves the cut-off forward and never back.
   */
  record(revocation: Revocation): Promise<void>;
  /** Every entry still live at `now` (`expiresAt > now`), in a stable order (kind, then subject id). */
  live(now: number): Promise<Revocation[]>;
  /**
   * The existing sites that have seen the agent: those it logged in to
   * (`agent_sites`) and those holding a binding to it.
   */
  sitesOfAgent(agentId: string): Promise<string[]>;
  /** Drops entries that lapsed at `now`. */
  purge(now: number): Promise<void>;
}
