import type { Database } from "bun:sqlite";
import type { EmailCodeOutcome, EmailCodeStore, UserStore } from "../../foundation/users/store.ts";
import { toUser, type UserRow } from "../sql-rows/users.ts";

export function createSqliteUserStore(db: Database): UserStore {
  const insert = db.query(
    `INSERT INTO users (id, email, password_hash, email_verified_at, kyc_level, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING`,
  );
  const byId = db.query<UserRow, [string]>("SELECT * FROM users WHERE id = ?");
  const byEmail = db.query<UserRow, [string]>("SELECT * FROM users WHERE email = ?");
  const verify = db.query<UserRow, [number, number, string]>(
    `UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?1), kyc_level = MAX(kyc_level, 1), updated_at = ?2
     WHERE id = ?3 RETURNING *`,
  );
  const setKyc = db.query<UserRow, [number, number, string]>(
    "UPDATE users SET kyc_level = ?, updated_at = ? WHERE id = ? RETURNING *",
  );
  return {
    async create(u) {
      const result = insert.run(
        u.id,
        u.email,
        u.passwordHash,
        u.emailVerifiedAt,
        u.kycLevel,
        u.createdAt,
        u.updatedAt,
      );
      return result.changes === 1;
    },
    async findById(id) {
      const row = byId.get(id);
      return row ? toUser(row) : null;
    },
    async findByEmail(email) {
      const row = byEmail.get(email);
      return row ? toUser(row) : null;
    },
    async markEmailVerified(id, at) {
      const row = verify.get(at, at, id);
      return row ? toUser(row) : null;
    },
    async setKycLevel(id, level, at) {
      const row = setKyc.get(level, at, id);
      return row ? toUser(row) : null;
    },
  };
}

export function createSqliteEmailCodeStore(db: Database): EmailCodeStore {
  const upsert = db.query(
    `INSERT INTO email_codes (user_id, code_hash, expires_at, attempts_left) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (user_id) DO UPDATE SET code_hash = ?2, expires_at = ?3, attempts_left = ?4`,
  );
  const consume = db.query<{ user_id: string }, [string, string, number]>(
    `DELETE FROM email_codes WHERE user_id = ? AND code_hash = ? AND expires_at > ? AND attempts_left > 0
     RETURNING user_id`,
  );
  const spend = db.query<{ attempts_left: number; expires_at: number }, [string]>(
    `UPDATE email_codes SET attempts_left = MAX(attempts_left - 1, 0) WHERE user_id = ?
     RETURNING attempts_left, expires_at`,
  );
  // The consume and the spend share one write transaction, so two guesses
  // racing each other cannot both see the same attempt count.
  const attempt = db.transaction((userId: string, codeHash: string, now: number): EmailCodeOutcome => {
    if (consume.get(userId, codeHash, now)) return "verified";
    const row = spend.get(userId);
    if (!row) return "absent";
    if (row.expires_at <= now) return "expired";
    return row.attempts_left > 0 ? "invalid" : "exhausted";
  });
  return {
    async put(code) {
      upsert.run(code.userId, code.codeHash, code.expiresAt, code.attemptsLeft);
    },
    async attempt(userId, codeHash, now) {
      return attempt.immediate(userId, codeHash, now);
    },
  };
}
