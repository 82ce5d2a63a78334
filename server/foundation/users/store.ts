/** Owner accounts ("users") and their email-verification codes. */

export type KycLevel = 0 | 1 | 2;

export interface UserRecord {
  id: string;
  /** Normalised: trimmed and lower-cased. */
  email: string;
  passwordHash: string;
  emailVerifiedAt: number | null;
  kycLevel: KycLevel;
  createdAt: number;
  updatedAt: number;
}

export interface UserStore {
  /** Inserts the user; `false` when the email is already registered. */
  create(user: UserRecord): Promise<boolean>;
  findById(id: string): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  /** Marks the email verified and raises the KYC level to at least 1. */
  markEmailVerified(id: string, at: number): Promise<UserRecord | null>;
  setKycLevel(id: string, level: KycLevel, at: number): Promise<UserRecord | null>;
}

export interface EmailCodeRecord {
  userId: string;
  codeHash: string;
  expiresAt: number;
  attemptsLeft: number;
}

export type EmailCodeOutcome = "verified" | "invalid" | "expired" | "exhausted" | "absent";

export interface EmailCodeStore {
  /** Stores the code for the user, replacing any earlier one. */
  put(code: EmailCodeRecord): Promise<void>;
  /**
   * One atomic attempt: on a match the code is consumed ("verified"); on a
   * miss one attempt is spent ("invalid", then "exhausted" once none are left).
   */
  attempt(userId: string, codeHash: string, now: number): Promise<EmailCodeOutcome>;
}
