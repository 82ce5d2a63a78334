/**
 * The rate limits in front of each account step, shared by the JSON API
 * (`routes.ts`) and the pages (`server/web/pages/account-pages.ts`), so a
 * browser and a script meet the same bounds. Each throws RateLimitedError.
 */

import { rateLimitKey } from "../../http/client-address.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import { PASSWORD_RESET_REQUESTS_PER_DAY, PASSWORD_RESET_REQUESTS_PER_MINUTE } from "./password-reset.ts";
import { DAY_MS, EMAIL_CODE_GUESSES_PER_DAY, EMAIL_CODE_RESENDS_PER_DAY, normalizeEmail } from "./service.ts";

/** Codes resent per address and minute. */
const RESENDS_PER_MINUTE = 3;

export interface AccountLimits {
  rateLimiter: RateLimiter;
  /** `RATE_LIMIT_AUTH_PER_MINUTE`: per client address, and per email where one is named. */
  perMinute: number;
}

export async function limitRegistration(limits: AccountLimits, ip: string): Promise<void> {
  await limits.rateLimiter.enforce("auth", rateLimitKey(ip), limits.perMinute);
}

export async function limitVerification(limits: AccountLimits, ip: string, email: string): Promise<void> {
  const address = normalizeEmail(email);
  await limits.rateLimiter.enforce("auth", rateLimitKey(ip), limits.perMinute);
  await limits.rateLimiter.enforce("verify-email", address, limits.perMinute);
  await limits.rateLimiter.enforce("verify-email-daily", address, EMAIL_CODE_GUESSES_PER_DAY, DAY_MS);
}

export async function limitResend(limits: AccountLimits, ip: string, email: string): Promise<void> {
  const address = normalizeEmail(email);
  await limits.rateLimiter.enforce("auth", rateLimitKey(ip), limits.perMinute);
  await limits.rateLimiter.enforce("resend-email", address, RESENDS_PER_MINUTE);
  await limits.rateLimiter.enforce("resend-email-daily", address, EMAIL_CODE_RESENDS_PER_DAY, DAY_MS);
}

export async function limitLogin(limits: AccountLimits, ip: string, email: string): Promise<void> {
  await limits.rateLimiter.enforce("auth", rateLimitKey(ip), limits.perMinute);
  await limits.rateLimiter.enforce("login-email", normalizeEmail(email), limits.perMinute);
}

export async function limitPasswordForgot(limits: AccountLimits, ip: string, email: string): Promise<void> {
  const address = normalizeEmail(email);
  await limits.rateLimiter.enforce("auth", rateLimitKey(ip), limits.perMinute);
  await limits.rateLimiter.enforce("password-forgot-email", address, PASSWORD_RESET_REQUESTS_PER_MINUTE);
  await limits.rateLimiter.enforce(
    "password-forgot-email-daily",
    address,
    PASSWORD_RESET_REQUESTS_PER_DAY,
    DAY_MS,
  );
}

export async function limitPasswordReset(limits: AccountLimits, ip: string): Promise<void> {
  await limits.rateLimiter.enforce("auth", rateLimitKey(ip), limits.perMinute);
}
