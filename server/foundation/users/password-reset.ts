/**
 * Password reset by email: an owner who forgot their password asks for a
 * link, and the link's token sets a new one.
 *
 * The token is 32 random bytes behind `lime_reset_`, mailed inside
 * `${PUBLIC_URL}/reset-password?token=…` and stored only as its SHA-256. It
 * is stored after the mail was accepted, replacing any earlier open token of
 * the owner (only the newest link works), lives `PASSWORD_RESET_TTL_SECONDS`,
 * and is redeemed once, atomically with its effects: the new argon2id hash,
 * the email marked verified (following the link proved the owner reads that
 * mailbox), and every session of the owner closed.
 *
 * Asking answers the same whether or not the account exists, and whether or
 * not the mail went out (docs/decisions/mail-delivery-failure.md).
 *
 * @example
 * await requestPasswordReset(deps, "ada@example.com", ip);   // mails the link, if the account exists
 * const user = await resetPassword(deps, { token, password: "a new passphrase" }, ip);
 */

import { DomainError } from "../../errors.ts";
import { generateToken, hashSecret, isTokenShaped } from "../../infrastructure/crypto/secrets.ts";
import { MailDeliveryError } from "../../infrastructure/mailer.ts";
import { ownerAction } from "../audit/service.ts";
import type { PasswordResetRecord } from "./password-reset-store.ts";
import { hashPassword, normalizeEmail, type UserDeps } from "./service.ts";
import type { UserRecord } from "./store.ts";

/** Reset mails per address and minute, as for `/register/resend`. */
export const PASSWORD_RESET_REQUESTS_PER_MINUTE = 3;
/** Reset mails per address and UTC day: without it anyone could have us mail an address thousands of times. */
export const PASSWORD_RESET_REQUESTS_PER_DAY = 10;
/** Expired tokens deleted per maintenance pass; the rest wait for the next pass. */
export const PASSWORD_RESET_PURGE_BATCH = 1000;

/** The page (built elsewhere) that reads the token and posts it with the new password. */
export function passwordResetLink(publicUrl: string, token: string): string {
  return `${publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
}

/** Mails a reset link if an account has this address; returns nothing either way. */
export async function requestPasswordReset(deps: UserDeps, email: string, ip: string): Promise<void> {
  const user = await deps.users.findByEmail(normalizeEmail(email));
  const requested = {
    actorType: "anonymous" as const,
    action: "user.password_reset_requested",
    ip,
  };
  if (!user) {
    await deps.audit({ ...requested, ownerId: null, outcome: "failure", reason: "USER_NOT_FOUND" });
    return;
  }
  const onOwner = { ...requested, ownerId: user.id, targetType: "user", targetId: user.id };
  const token = generateToken("password_reset");
  const now = deps.clock.now();
  const ttl = deps.config.lifetimes.passwordResetMs;
  const reset: PasswordResetRecord = {
    id: crypto.randomUUID(),
    userId: user.id,
    tokenHash: hashSecret(token),
    createdAt: now,
    expiresAt: now + ttl,
    usedAt: null,
  };
  try {
    await deps.mailer.sendPasswordResetLink(user.email, {
      link: passwordResetLink(deps.config.publicUrl, token),
      validForMinutes: Math.floor(ttl / 60_000),
    });
  } catch (error) {
    if (!(error instanceof MailDeliveryError)) throw error;
    // Nothing stored: the link that was not sent never works, and an earlier one still does.
    await deps.audit({ ...onOwner, outcome: "failure", reason: "EMAIL_DELIVERY_FAILED" });
    return;
  }
  await deps.passwordResets.issue(reset);
  await deps.audit(onOwner);
}

type ResetRefusal = "PASSWORD_RESET_TOKEN_INVALID" | "PASSWORD_RESET_TOKEN_EXPIRED";

/**
 * Why `known` (the row of the presented token, or null) cannot be redeemed
 * now: only an open token past its time is "expired"; unknown, malformed,
 * used and voided tokens are all "invalid", since telling them apart helps
 * nobody but someone holding a stolen link.
 */
function refusalFor(known: PasswordResetRecord | null, now: number): ResetRefusal {
  const expired = known !== null && known.usedAt === null && known.expiresAt <= now;
  return expired ? "PASSWORD_RESET_TOKEN_EXPIRED" : "PASSWORD_RESET_TOKEN_INVALID";
}

/** Audits the refusal (on the owner's trail when the token is known) and returns the error to throw. */
async function refuseReset(
  deps: UserDeps,
  known: PasswordResetRecord | null,
  ip: string,
): Promise<DomainError> {
  const code = refusalFor(known, deps.clock.now());
  const ownerId = known?.userId ?? null;
  await deps.audit({
    ownerId,
    actorType: "anonymous",
    action: "user.password_reset_rejected",
    outcome: "failure",
    reason: code,
    targetType: ownerId === null ? null : "user",
    targetId: ownerId,
    ip,
  });
  return code === "PASSWORD_RESET_TOKEN_EXPIRED"
    ? new DomainError(code, "The password reset link has expired; ask for a new one.")
    : new DomainError(
        code,
        "The password reset link is not valid; it may have been used or replaced by a newer one.",
      );
}

/** Sets a new password with a mailed token; closes every session of the owner. */
export async function resetPassword(
  deps: UserDeps,
  input: { token: string; password: string },
  ip: string,
): Promise<UserRecord> {
  if (!isTokenShaped("password_reset", input.token)) throw await refuseReset(deps, null, ip);
  const tokenHash = hashSecret(input.token);
  // A cheap look first, so a dead token costs no argon2 work; the conditional
  // UPDATE in `redeem` alone decides whether the token is spent.
  const known = await deps.passwordResets.findByTokenHash(tokenHash);
  const open = known !== null && known.usedAt === null && known.expiresAt > deps.clock.now();
  if (!open) throw await refuseReset(deps, known, ip);
  const passwordHash = await hashPassword(input.password, deps.config.passwordHashing);
  const redeemed = await deps.passwordResets.redeem({ tokenHash, passwordHash, now: deps.clock.now() });
  // Lost a race with another redemption of the same token (or it expired meanwhile).
  if (!redeemed) throw await refuseReset(deps, await deps.passwordResets.findByTokenHash(tokenHash), ip);
  await deps.audit(
    ownerAction(
      redeemed.user.id,
      "user.password_reset_completed",
      { type: "user", id: redeemed.user.id },
      ip,
    ),
  );
  return redeemed.user;
}
