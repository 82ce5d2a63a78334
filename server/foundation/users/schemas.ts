/**
 * The models of the owner-account routes: the bodies, exported so a web form
 * (the portal) validates against the very models the API enforces, and the
 * answers, from which the OpenAPI description is generated.
 */

import { t } from "elysia";
import { IsoTime } from "../../http/schema-types.ts";

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

/*
 * Answers. Each names exactly the fields its presenter writes: Elysia checks
 * the answer against the model and drops whatever the model does not name
 * (server/http/contract.ts).
 */

/**
 * `KycLevel` (store.ts) as `JsonInteger` writes it, with a description. Not a
 * union of literals: the generator documents those as `type: "string"`.
 */
export const KycLevelView = t.Number({
  minimum: 0,
  maximum: 2,
  multipleOf: 1,
  description: "0: none; 1: email verified; 2: identity verified by an operator or a verifier.",
});

const userFields = {
  user_id: t.String({ format: "uuid" }),
  email: t.String({ description: "As registered, trimmed and lower-cased." }),
  email_verified: t.Boolean(),
  kyc_level: KycLevelView,
  created_at: IsoTime,
};

/** An owner account, as `presentUser` writes it (routes.ts). */
export const UserView = t.Object(userFields);

/** `POST …/register`: the new account, and whether a code must be confirmed before login. */
export const RegisteredUser = t.Object({
  ...userFields,
  verification_required: t.Boolean({
    description:
      "True when EMAIL_VERIFICATION is on: a 6-digit code was mailed; confirm it at `/register/verify` before logging in.",
  }),
});

/** `202` of the steps that answer the same whether or not an account has the address. */
export const Accepted = t.Object({ accepted: t.Literal(true) });

/** `POST …/login`: the session, as a Bearer token and as the cookies set beside it. */
export const OwnerSession = t.Object({
  session_token: t.String({
    description:
      "Send as `Authorization: Bearer <session_token>`. The same session is set as the `lime_session` cookie (HttpOnly).",
  }),
  csrf_token: t.String({
    description:
      "Also set as the `lime_csrf` cookie; cookie-authenticated writes send it in `X-CSRF-Token`. Bearer requests need none.",
  }),
  token_type: t.Literal("Bearer"),
  expires_at: IsoTime,
  user: UserView,
});

export const LoggedOut = t.Object({ logged_out: t.Literal(true) });
