import type { EmailCodeOutcome, EmailCodeStore, UserStore } from "../../foundation/users/store.ts";
import { type BigintColumn, millis } from "../sql-rows/millis.ts";
import { toUser, type UserRow } from "../sql-rows/users.ts";
import type { Sql } from "./connection.ts";

export function createPostgresUserStore(sql: Sql): UserStore {
  const one = (rows: UserRow[]) => (rows[0] ? toUser(rows[0]) : null);
  return {
    async create(u) {
      const result = await sql`
        INSERT INTO users (id, email, password_hash, email_verified_at, kyc_level, created_at, updated_at)
        VALUES (${u.id}, ${u.email}, ${u.passwordHash}, ${u.emailVerifiedAt}, ${u.kycLevel}, ${u.createdAt},
                ${u.updatedAt})
        ON CONFLICT (email) DO NOTHING`;
      return result.count === 1;
    },
    async findById(id) {
      return one(await sql`SELECT * FROM users WHERE id = ${id}`);
    },
    async findByEmail(email) {
      return one(await sql`SELECT * FROM users WHERE email = ${email}`);
    },
    async markEmailVerified(id, at) {
      return one(
        await sql`UPDATE users SET email_verified_at = COALESCE(email_verified_at, ${at}),
                    kyc_level = GREATEST(kyc_level, 1), updated_at = ${at}
                  WHERE id = ${id} RETURNING *`,
      );
    },
    async setKycLevel(id, level, at) {
      return one(
        await sql`UPDATE users SET kyc_level = ${level}, updated_at = ${at} WHERE id = ${id} RETURNING *`,
      );
    },
  };
}

export function createPostgresEmailCodeStore(sql: Sql): EmailCodeStore {
  return {
    async put(code) {
      await sql`INSERT INTO email_codes (user_id, code_hash, expires_at, attempts_left)
                VALUES (${code.userId}, ${code.codeHash}, ${code.expiresAt}, ${code.attemptsLeft})
                ON CONFLICT (user_id) DO UPDATE SET code_hash = EXCLUDED.code_hash,
                  expires_at = EXCLUDED.expires_at, attempts_left = EXCLUDED.attempts_left`;
    },
    async attempt(userId, codeHash, now) {
      // The row is locked before it is judged, so guesses racing each other
      // (from any instance) take turns and never see the same attempt count;
      // a guess against a code replaced meanwhile is judged against the new one.
      return sql.begin(async (tx): Promise<EmailCodeOutcome> => {
        const [row]: { matches: boolean; expires_at: BigintColumn; attempts_left: number }[] = await tx`
          SELECT code_hash = ${codeHash} AS matches, expires_at, attempts_left
          FROM email_codes WHERE user_id = ${userId} FOR UPDATE`;
        if (!row) return "absent";
        const expired = millis(row.expires_at) <= now;
        if (row.matches && !expired && row.attempts_left > 0) {
          await tx`DELETE FROM email_codes WHERE user_id = ${userId}`;
          return "verified";
        }
        const [spent]: { attempts_left: number }[] = await tx`
          UPDATE email_codes SET attempts_left = GREATEST(attempts_left - 1, 0) WHERE user_id = ${userId}
          RETURNING attempts_left`;
        if (expired) return "expired";
        return spent!.attempts_left > 0 ? "invalid" : "exhausted";
      });
    },
  };
}
