import { t } from "elysia";

/** Deliberately loose (RFC 5322 is not a regex); the verification code is the real check. */
const Email = t.String({ minLength: 3, maxLength: 254, pattern: "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$" });

export const RegisterBody = t.Object({
  email: Email,
  /** NIST SP 800-63B §3.1.1.2: at least 8 characters; the cap bounds argon2 work per request. */
  password: t.String({ minLength: 8, maxLength: 256 }),
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
