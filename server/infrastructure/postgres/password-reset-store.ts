import type {
  PasswordResetStore,
  RedeemedPasswordReset,
} from "../../foundation/users/password-reset-store.ts";
import { hashesEqual } from "../crypto/secrets.ts";
import { type ResetRow, toReset } from "../sql-rows/password-reset.ts";
import { toUser, type UserRow } from "../sql-rows/users.ts";
import type { Sql } from "./connection.ts";

/** Thrown inside the redeem transaction to roll it back: redeem then changes nothing. */
class Refused extends Error {}

export function createPostgresPasswordResetStore(sql: Sql): PasswordResetStore {
  return {
    async issue(reset) {
      await sql.begin(async (tx) => {
        // Issues for one owner take turns on the owner's row, so two at once
        // end as one open token (the later), not as a unique-index violation.
        // NO KEY UPDATE does not block the foreign-key checks of other writes.
        await tx`SELECT 1 FROM users WHERE id = ${reset.userId} FOR NO KEY UPDATE`;
        await tx`DELETE FROM password_reset_tokens WHERE user_id = ${reset.userId} AND used_at IS NULL`;
        await tx`INSERT INTO password_reset_tokens (id, user_id, token_hash, created_at, expires_at, used_at)
                 VALUES (${reset.id}, ${reset.userId}, ${reset.tokenHash}, ${reset.createdAt}, ${reset.expiresAt},
                         ${reset.usedAt})`;
      });
    },
    async redeem({ tokenHash, passwordHash, now }) {
      try {
        return await sql.begin(async (tx): Promise<RedeemedPasswordReset | null> => {
          // The conditional UPDATE is the single-use step: a concurrent
          // redemption waits for this row's lock, then finds used_at set.
          const [row]: ResetRow[] = await tx`
            UPDATE password_reset_tokens SET used_at = ${now}
            WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now} RETURNING *`;
          if (!row) return null;
          // The row was found by this hash; compare once more in constant time before trusting it.
          if (!hashesEqual(row.token_hash, tokenHash)) throw new Refused();
          // The foreign key deletes tokens with their user, so this holds; if it ever did not, undo the consumption.
          const [user]: UserRow[] = await tx`
            UPDATE users SET password_hash = ${passwordHash}, email_verified_at = COALESCE(email_verified_at, ${now}),
              kyc_level = GREATEST(kyc_level, 1), updated_at = ${now}
            WHERE id = ${row.user_id} RETURNING *`;
          if (!user) throw new Refused();
          // The address is verified now: a pending verification code has nothing left to prove.
          await tx`DELETE FROM email_codes WHERE user_id = ${row.user_id}`;
          const closed = await tx`DELETE FROM sessions WHERE user_id = ${row.user_id}`;
          return { reset: toReset(row), user: toUser(user), closedSessions: closed.count };
        });
      } catch (error) {
        if (error instanceof Refused) return null;
        throw error;
      }
    },
    async findByTokenHash(tokenHash) {
      const [row]: ResetRow[] =
        await sql`SELECT * FROM password_reset_tokens WHERE token_hash = ${tokenHash}`;
      return row ? toReset(row) : null;
    },
    async deleteExpired(now, limit) {
      // Bounded per call through the expiry index, so one sweep never holds many row locks for long;
      // SKIP LOCKED lets two instances sweeping at once take different rows instead of queueing.
      const result = await sql`
        DELETE FROM password_reset_tokens WHERE id IN
          (SELECT id FROM password_reset_tokens WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${limit}
           FOR UPDATE SKIP LOCKED)`;
      return result.count;
    },
  };
}
