/** One-time password-reset tokens, stored as the SHA-256 of the token only. */

import type { UserRecord } from "./store.ts";

export interface PasswordResetRecord {
  id: string;
  userId: string;
  /** SHA-256 of the token; the token itself exists only in the mail. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  /** When the token was redeemed; null while it is still open. */
  usedAt: number | null;
}

export interface RedeemedPasswordReset {
  reset: PasswordResetRecord;
  /** The owner after the change: new password hash, email verified. */
  user: UserRecord;
  /** How many of the owner's sessions were closed. */
  closedSessions: number;
}

export interface PasswordResetStore {
  /**
   * Stores a new token and, in the same write, deletes every earlier unused
   * token of that user: only the newest link works.
   */
  issue(reset: PasswordResetRecord): Promise<void>;
  /**
   * Redeems the token in one transaction, or changes nothing: marks it used
   * (`UPDATE … WHERE used_at IS NULL AND expires_at > now RETURNING`, so of
   * concurrent redemptions exactly one wins), sets the user's password hash,
   * marks the email verified (KYC level at least 1, as verification does),
   * and deletes all of the user's sessions. Null when the token is unknown,
   * already used, replaced by a newer one, or expired.
   */
  redeem(input: {
    tokenHash: string;
    passwordHash: string;
    now: number;
  }): Promise<RedeemedPasswordReset | null>;
  /** The token's row, to tell an expired token from an unknown one after `redeem` refused it. */
  findByTokenHash(tokenHash: string): Promise<PasswordResetRecord | null>;
  /** Deletes at most `limit` tokens that expired at or before `now` (used or not); returns how many. */
  deleteExpired(now: number, limit: number): Promise<number>;
}
