import type { Database } from "bun:sqlite";
import type {
  PasswordResetRecord,
  PasswordResetStore,
  RedeemedPasswordReset,
} from "../../foundation/users/password-reset-store.ts";
import { hashesEqual } from "../crypto/secrets.ts";
import { type ResetRow, toReset } from "../sql-rows/password-reset.ts";
import { toUser, type UserRow } from "../sql-rows/users.ts";

/** Thrown inside the redeem transaction to roll it back: redeem then changes nothing. */
class Refused extends Error {}

export function createSqlitePasswordResetStore(db: Database): PasswordResetStore {
  const dropOpen = db.query("DELETE FROM password_reset_tokens WHERE user_id = ? AND used_at IS NULL");
  const insert = db.query(
    `INSERT INTO password_reset_tokens (id, user_id, token_hash, created_at, expires_at, used_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const consume = db.query<ResetRow, [number, string, number]>(
    `UPDATE password_reset_tokens SET used_at = ?1
     WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?3 RETURNING *`,
  );
  const setPassword = db.query<UserRow, [string, number, string]>(
    `UPDATE users SET password_hash = ?1, email_verified_at = COALESCE(email_verified_at, ?2),
       kyc_level = MAX(kyc_level, 1), updated_at = ?2
     WHERE id = ?3 RETURNING *`,
  );
  // The address is verified now: a pending verification code has nothing left to prove.
  const dropEmailCode = db.query("DELETE FROM email_codes WHERE user_id = ?");
  const closeSessions = db.query("DELETE FROM sessions WHERE user_id = ?");
  const byHash = db.query<ResetRow, [string]>("SELECT * FROM password_reset_tokens WHERE token_hash = ?");
  // Bounded per call through the expiry index, so one sweep never holds the write lock for long.
  const purge = db.query(
    `DELETE FROM password_reset_tokens WHERE id IN
       (SELECT id FROM password_reset_tokens WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  );

  const issue = db.transaction((reset: PasswordResetRecord) => {
    dropOpen.run(reset.userId);
    insert.run(reset.id, reset.userId, reset.tokenHash, reset.createdAt, reset.expiresAt, reset.usedAt);
  });

  const redeem = db.transaction(
    (tokenHash: string, passwordHash: string, now: number): RedeemedPasswordReset | null => {
      const row = consume.get(now, tokenHash, now);
      if (!row) return null;
      // The row was found by this hash; compare once more in constant time before trusting it.
      if (!hashesEqual(row.token_hash, tokenHash)) throw new Refused();
      // The foreign key deletes tokens with their user, so this holds; if it ever did not, undo the consumption.
      const user = setPassword.get(passwordHash, now, row.user_id);
      if (!user) throw new Refused();
      dropEmailCode.run(row.user_id);
      const closedSessions = closeSessions.run(row.user_id).changes;
      return { reset: toReset(row), user: toUser(user), closedSessions };
    },
  );

  return {
    async issue(reset) {
      issue.immediate(reset);
    },
    async redeem({ tokenHash, passwordHash, now }) {
      try {
        return redeem.immediate(tokenHash, passwordHash, now);
      } catch (error) {
        if (error instanceof Refused) return null;
        throw error;
      }
    },
    async findByTokenHash(tokenHash) {
      const row = byHash.get(tokenHash);
      return row ? toReset(row) : null;
    },
    async deleteExpired(now, limit) {
      return purge.run(now, limit).changes;
    },
  };
}
