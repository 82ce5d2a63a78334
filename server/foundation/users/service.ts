/**
 * Owner accounts: registration, email verification, login and logout.
 *
 * Passwords are hashed with argon2id (`Bun.password`). Verification codes are
 * six digits, stored as SHA-256 bound to the user id, expire, and allow five
 * attempts. Login answers the same INVALID_CREDENTIALS for an unknown email
 * and a wrong password, and spends an argon2 verification in both cases so
 * the two are not told apart by timing.
 *
 * A code is stored only after the mail carrying it was accepted: a failed
 * send leaves everything as it was (docs/decisions/mail-delivery-failure.md).
 */

import type { Clock } from "../../clock.ts";
import type { PasswordHashing, ServerConfig } from "../../config.ts";
import { DomainError } from "../../errors.ts";
import { generateNumericCode, generateToken, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import { MailDeliveryError, type Mailer } from "../../infrastructure/mailer.ts";
import { type AuditRecorder, ownerAction } from "../audit/service.ts";
import type { SessionStore } from "../sessions/store.ts";
import type { PasswordResetStore } from "./password-reset-store.ts";
import type { EmailCodeStore, UserRecord, UserStore } from "./store.ts";

export const EMAIL_CODE_DIGITS = 6;
export const EMAIL_CODE_ATTEMPTS = 5;
/**
 * Verification attempts per email address and UTC day, whatever the resends.
 * Each resend brings a fresh code with five attempts, so without this bound
 * the per-minute limits allowed ~20 guesses a minute at a 10^6 space: an
 * even chance within a month of verifying an address one does not own.
 * At 30 a day the chance is about 1% a year (NIST SP 800-63B §5.2.2).
 */
export const EMAIL_CODE_GUESSES_PER_DAY = 30;
/**
 * Codes sent per address and UTC day through `/register/resend`. At the
 * per-minute limit alone (3) anyone could have us mail an address over
 * 4000 times a day: a flood for its owner and for our sender reputation.
 */
export const EMAIL_CODE_RESENDS_PER_DAY = 10;
export const DAY_MS = 86_400_000;

export interface UserDeps {
  config: Pick<ServerConfig, "emailVerification" | "lifetimes" | "passwordHashing" | "publicUrl">;
  clock: Clock;
  users: UserStore;
  emailCodes: EmailCodeStore;
  passwordResets: PasswordResetStore;
  sessions: SessionStore;
  mailer: Mailer;
  audit: AuditRecorder;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function hashPassword(password: string, cost: PasswordHashing): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id", ...cost });
}

const dummyHashes = new Map<string, Promise<string>>();

/** A real argon2id hash at the configured cost, to verify against when the email is unknown. */
function dummyHash(cost: PasswordHashing): Promise<string> {
  const key = `${cost.memoryCost}:${cost.timeCost}`;
  let hash = dummyHashes.get(key);
  if (!hash) {
    hash = hashPassword(crypto.randomUUID(), cost);
    dummyHashes.set(key, hash);
  }
  return hash;
}

function codeHash(userId: string, code: string): string {
  return hashSecret(`${userId}:${code}`);
}

/** A fresh code for `user`, mailed; the caller stores it with `storeCode` once the mail went out. */
async function mailCode(deps: UserDeps, user: Pick<UserRecord, "id" | "email">): Promise<string> {
  const code = generateNumericCode(EMAIL_CODE_DIGITS);
  await deps.mailer.sendVerificationCode(user.email, code);
  return code;
}

/** Replaces the user's code, so the one just mailed is the one that works. */
function storeCode(deps: UserDeps, userId: string, code: string): Promise<void> {
  return deps.emailCodes.put({
    userId,
    codeHash: codeHash(userId, code),
    expiresAt: deps.clock.now() + deps.config.lifetimes.emailCodeMs,
    attemptsLeft: EMAIL_CODE_ATTEMPTS,
  });
}

async function rejectRegistration(
  deps: UserDeps,
  ip: string,
  reason: "EMAIL_ALREADY_REGISTERED" | "EMAIL_DELIVERY_FAILED",
) {
  await deps.audit({
    ownerId: null,
    actorType: "anonymous",
    action: "user.registration_rejected",
    outcome: "failure",
    reason,
    ip,
  });
}

const emailTaken = () =>
  new DomainError("EMAIL_ALREADY_REGISTERED", "An account with this email already exists.");

/**
 * With verification on, the code is mailed before the account is written: a
 * mail server that cannot take the message leaves no account behind
 * (`503 EMAIL_DELIVERY_FAILED`), and registering again later just works.
 */
export async function registerUser(
  deps: UserDeps,
  input: { email: string; password: string },
  ip: string,
): Promise<UserRecord> {
  const now = deps.clock.now();
  const user: UserRecord = {
    id: crypto.randomUUID(),
    email: normalizeEmail(input.email),
    passwordHash: await hashPassword(input.password, deps.config.passwordHashing),
    emailVerifiedAt: null,
    kycLevel: 0,
    createdAt: now,
    updatedAt: now,
  };
  // Checked before mailing, so a taken address gets no code; `create` below still decides a race.
  if (await deps.users.findByEmail(user.email)) {
    await rejectRegistration(deps, ip, "EMAIL_ALREADY_REGISTERED");
    throw emailTaken();
  }
  let code: string | null = null;
  if (deps.config.emailVerification) {
    try {
      code = await mailCode(deps, user);
    } catch (error) {
      if (error instanceof MailDeliveryError) await rejectRegistration(deps, ip, "EMAIL_DELIVERY_FAILED");
      throw error;
    }
  }
  if (!(await deps.users.create(user))) {
    await rejectRegistration(deps, ip, "EMAIL_ALREADY_REGISTERED");
    throw emailTaken();
  }
  if (code !== null) await storeCode(deps, user.id, code);
  await deps.audit(ownerAction(user.id, "user.registered", { type: "user", id: user.id }, ip));
  return user;
}

export async function verifyEmail(
  deps: UserDeps,
  input: { email: string; code: string },
  ip: string,
): Promise<UserRecord> {
  const user = await deps.users.findByEmail(normalizeEmail(input.email));
  if (!user) throw new DomainError("VERIFICATION_CODE_INVALID", "The verification code is not valid.");
  if (user.emailVerifiedAt !== null) {
    throw new DomainError("EMAIL_ALREADY_VERIFIED", "This email is already verified.");
  }
  const outcome = await deps.emailCodes.attempt(user.id, codeHash(user.id, input.code), deps.clock.now());
  if (outcome !== "verified") {
    const code =
      outcome === "expired"
        ? "VERIFICATION_CODE_EXPIRED"
        : outcome === "exhausted"
          ? "VERIFICATION_ATTEMPTS_EXCEEDED"
          : "VERIFICATION_CODE_INVALID";
    await deps.audit({
      ownerId: user.id,
      actorType: "anonymous",
      action: "user.email_verification_failed",
      outcome: "failure",
      reason: code,
      targetType: "user",
      targetId: user.id,
      ip,
    });
    const message =
      code === "VERIFICATION_CODE_EXPIRED"
        ? "The verification code has expired; request a new one."
        : code === "VERIFICATION_ATTEMPTS_EXCEEDED"
          ? "Too many wrong codes; request a new one."
          : "The verification code is not valid.";
    throw new DomainError(code, message);
  }
  const verified = (await deps.users.markEmailVerified(user.id, deps.clock.now()))!;
  await deps.audit(ownerAction(user.id, "user.email_verified", { type: "user", id: user.id }, ip));
  return verified;
}

/**
 * Sends a fresh code if the account exists and is unverified; says nothing
 * either way. A failed send is not told either (that would tell which
 * addresses have accounts): the mailer logged it, and the code mailed
 * earlier keeps working, since a new code replaces it only once mailed.
 */
export async function resendVerificationCode(deps: UserDeps, email: string): Promise<void> {
  if (!deps.config.emailVerification) return;
  const user = await deps.users.findByEmail(normalizeEmail(email));
  if (!user || user.emailVerifiedAt !== null) return;
  let code: string;
  try {
    code = await mailCode(deps, user);
  } catch (error) {
    if (error instanceof MailDeliveryError) return;
    throw error;
  }
  await storeCode(deps, user.id, code);
}

export interface OpenedSession {
  user: UserRecord;
  sessionId: string;
  sessionToken: string;
  csrfToken: string;
  expiresAt: number;
}

export async function login(
  deps: UserDeps,
  input: { email: string; password: string },
  ip: string,
): Promise<OpenedSession> {
  const user = await deps.users.findByEmail(normalizeEmail(input.email));
  const hash = user?.passwordHash ?? (await dummyHash(deps.config.passwordHashing));
  const matches = await Bun.password.verify(input.password, hash).catch(() => false);
  if (!user || !matches) {
    await deps.audit({
      ownerId: user?.id ?? null,
      actorType: "anonymous",
      action: "session.rejected",
      outcome: "failure",
      reason: "INVALID_CREDENTIALS",
      ip,
    });
    throw new DomainError("INVALID_CREDENTIALS", "The email or password is not correct.");
  }
  if (deps.config.emailVerification && user.emailVerifiedAt === null) {
    await deps.audit({
      ...ownerAction(user.id, "session.rejected", null, ip),
      outcome: "failure",
      reason: "EMAIL_NOT_VERIFIED",
    });
    throw new DomainError("EMAIL_NOT_VERIFIED", "Verify your email before logging in.");
  }
  const now = deps.clock.now();
  const sessionToken = generateToken("session");
  const csrfToken = generateToken("csrf");
  const session = {
    id: crypto.randomUUID(),
    userId: user.id,
    tokenHash: hashSecret(sessionToken),
    csrfHash: hashSecret(csrfToken),
    createdAt: now,
    expiresAt: now + deps.config.lifetimes.sessionMs,
  };
  await deps.sessions.create(session);
  await deps.audit(ownerAction(user.id, "session.opened", { type: "session", id: session.id }, ip));
  return { user, sessionId: session.id, sessionToken, csrfToken, expiresAt: session.expiresAt };
}

export async function logout(deps: UserDeps, user: UserRecord, sessionId: string, ip: string): Promise<void> {
  await deps.sessions.delete(sessionId);
  await deps.audit(ownerAction(user.id, "session.closed", { type: "session", id: sessionId }, ip));
}
