/**
 * Body schemas of the owner-account routes, exported so a web form (the
 * portal) validates against the very models the API enforces.
 */

import { t } from "elysia";

/** Deliberately loose (RFC 5322 is not a regex); the verification code is the real check. */
const Email = t.String({ minLength: 3, maxLength: 254, pattern: "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$" });

/** NIST SP 800-63B §3.1.1.2: at least 8 characters; the cap bounds argon2 work per request. */
const NewPassword = t.String({ minLength: 8, maxLength: 256 });

export const RegisterBody = t.Object({
  email: Email,
  password: NewPassword,
  turnstile_token: t.Optional(t.String({ maxLength: 4096 })),
});

export const VerifyEmailBody = t.Object({
  email: Email,
  code: t.String({ pattern: "^[0-9]{6}$" }),
});

export const ResendBody = t.Object({ email: Email });

export const LoginBody = t.Object({
  email: t.String({ minLength: 1, maxLength: 254 }),
  password: t.String({ minLength: 1, maxLength: 256 }),
});

export const ForgotPasswordBody = t.Object({ email: Email });

export const ResetPasswordBody = t.Object({
  /** Any string up to the bound: a malformed token is PASSWORD_RESET_TOKEN_INVALID, like an unknown one. */
  token: t.String({ minLength: 1, maxLength: 256 }),
  password: NewPassword,
});
