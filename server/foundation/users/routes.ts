import { type Cookie, Elysia } from "elysia";
import { isoTime } from "../../clock.ts";
import type { AppContext } from "../../context.ts";
import { CSRF_COOKIE, requireOwner, SESSION_COOKIE } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import {
  answers,
  INPUT_FAILURES,
  OWNER_READ_FAILURES,
  OWNER_SESSION,
  OWNER_WRITE_FAILURES,
  PUBLIC,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import {
  limitLogin,
  limitPasswordForgot,
  limitPasswordReset,
  limitRegistration,
  limitResend,
  limitVerification,
} from "./limits.ts";
import { requestPasswordReset, resetPassword } from "./password-reset.ts";
import {
  Accepted,
  ForgotPasswordBody,
  LoggedOut,
  LoginBody,
  OwnerSession,
  RegisterBody,
  RegisteredUser,
  ResendBody,
  ResetPasswordBody,
  UserView,
  VerifyEmailBody,
} from "./schemas.ts";
import { login, logout, registerUser, resendVerificationCode, verifyEmail } from "./service.ts";
import type { UserRecord } from "./store.ts";

export function presentUser(user: UserRecord) {
  return {
    user_id: user.id,
    email: user.email,
    email_verified: user.emailVerifiedAt !== null,
    kyc_level: user.kycLevel,
    created_at: isoTime(user.createdAt),
  };
}

type Cookies = Record<string, Cookie<unknown>>;

function clearSessionCookies(cookie: Cookies, secure: boolean): void {
  cookie[SESSION_COOKIE]!.set({
    value: "",
    httpOnly: true,
    secure,
    sameSite: "lax",
    path: "/",
    maxAge: 0,
  });
  cookie[CSRF_COOKIE]!.set({ value: "", secure, sameSite: "lax", path: "/", maxAge: 0 });
}

export function userRoutes(ctx: AppContext) {
  const { config } = ctx;
  const limits = { rateLimiter: ctx.rateLimiter, perMinute: config.rateLimits.authPerMinute };
  const secure = config.publicUrl.startsWith("https://");

  return new Elysia({ prefix: "/api/v1/foundation/users", tags: ["foundation"] })
    .post(
      "/register",
      async ({ body, request, set }) => {
        const ip = clientAddress(request, config.trustProxy);
        await limitRegistration(limits, ip);
        const user = await registerUser(ctx.users, body, ip);
        set.status = 201;
        return ok({ ...presentUser(user), verification_required: config.emailVerification });
      },
      {
        body: RegisterBody,
        response: answers(201, RegisteredUser, [
          ...INPUT_FAILURES,
          "RATE_LIMIT_EXCEEDED",
          "EMAIL_ALREADY_REGISTERED",
          "EMAIL_DELIVERY_FAILED",
        ]),
        detail: {
          summary: "Register an owner account",
          description:
            "With email verification on, a 6-digit code is mailed before the account is written: " +
            "when the mail server cannot take it, the answer is 503 EMAIL_DELIVERY_FAILED and no account exists. " +
            "`turnstile_token` is accepted and ignored.",
          operationId: "registerOwner",
          security: PUBLIC,
        },
      },
    )
    .post(
      "/register/verify",
      async ({ body, request }) => {
        const ip = clientAddress(request, config.trustProxy);
        await limitVerification(limits, ip, body.email);
        return ok(presentUser(await verifyEmail(ctx.users, body, ip)));
      },
      {
        body: VerifyEmailBody,
        response: answers(200, UserView, [
          ...INPUT_FAILURES,
          "RATE_LIMIT_EXCEEDED",
          "VERIFICATION_CODE_INVALID",
          "VERIFICATION_CODE_EXPIRED",
          "VERIFICATION_ATTEMPTS_EXCEEDED",
          "EMAIL_ALREADY_VERIFIED",
        ]),
        detail: {
          summary: "Confirm the email with the code that was sent",
          description:
            "Raises the KYC level to 1. An unknown address is VERIFICATION_CODE_INVALID, like a wrong code; " +
            "five wrong codes spend the code (VERIFICATION_ATTEMPTS_EXCEEDED).",
          operationId: "verifyOwnerEmail",
          security: PUBLIC,
        },
      },
    )
    .post(
      "/register/resend",
      async ({ body, request, set }) => {
        const ip = clientAddress(request, config.trustProxy);
        await limitResend(limits, ip, body.email);
        await resendVerificationCode(ctx.users, body.email);
        set.status = 202;
        return ok({ accepted: true });
      },
      {
        body: ResendBody,
        response: answers(202, Accepted, [...INPUT_FAILURES, "RATE_LIMIT_EXCEEDED"]),
        detail: {
          summary: "Send a new verification code if the account awaits one",
          description:
            "Answers 202 whether or not the account exists or the mail went out; the code mailed earlier keeps working until a new one is sent.",
          operationId: "resendVerificationCode",
          security: PUBLIC,
        },
      },
    )
    .post(
      "/password/forgot",
      async ({ body, request, set }) => {
        const ip = clientAddress(request, config.trustProxy);
        await limitPasswordForgot(limits, ip, body.email);
        await requestPasswordReset(ctx.users, body.email, ip);
        set.status = 202;
        return ok({ accepted: true });
      },
      {
        body: ForgotPasswordBody,
        response: answers(202, Accepted, [...INPUT_FAILURES, "RATE_LIMIT_EXCEEDED"]),
        detail: {
          summary: "Mail a password-reset link if an account has this address (202 either way)",
          description:
            "The link carries a `lime_reset_…` token for `POST …/password/reset`; a new request voids the earlier link.",
          operationId: "requestPasswordReset",
          security: PUBLIC,
        },
      },
    )
    .post(
      "/password/reset",
      async ({ body, request, cookie }) => {
        const ip = clientAddress(request, config.trustProxy);
        await limitPasswordReset(limits, ip);
        const user = await resetPassword(ctx.users, body, ip);
        // Every session of the owner is closed; a browser's cookies for one of them are dead weight.
        clearSessionCookies(cookie, secure);
        return ok(presentUser(user));
      },
      {
        body: ResetPasswordBody,
        response: answers(200, UserView, [
          ...INPUT_FAILURES,
          "RATE_LIMIT_EXCEEDED",
          "PASSWORD_RESET_TOKEN_INVALID",
          "PASSWORD_RESET_TOKEN_EXPIRED",
        ]),
        detail: {
          summary: "Set a new password with the token from the reset mail; closes every session",
          description:
            "Also marks the email verified. Every session of the owner is closed and the session cookies are cleared.",
          operationId: "resetPassword",
          security: PUBLIC,
        },
      },
    )
    .post(
      "/login",
      async ({ body, request, cookie }) => {
        const ip = clientAddress(request, config.trustProxy);
        await limitLogin(limits, ip, body.email);
        const opened = await login(ctx.users, body, ip);
        const maxAge = Math.floor(config.lifetimes.sessionMs / 1000);
        cookie[SESSION_COOKIE]!.set({
          value: opened.sessionToken,
          httpOnly: true,
          secure,
          sameSite: "lax",
          path: "/",
          maxAge,
        });
        cookie[CSRF_COOKIE]!.set({
          value: opened.csrfToken,
          httpOnly: false,
          secure,
          sameSite: "lax",
          path: "/",
          maxAge,
        });
        return ok({
          session_token: opened.sessionToken,
          csrf_token: opened.csrfToken,
          token_type: "Bearer",
          expires_at: isoTime(opened.expiresAt),
          user: presentUser(opened.user),
        });
      },
      {
        body: LoginBody,
        response: answers(200, OwnerSession, [
          ...INPUT_FAILURES,
          "RATE_LIMIT_EXCEEDED",
          "INVALID_CREDENTIALS",
          "EMAIL_NOT_VERIFIED",
        ]),
        detail: {
          summary: "Open a session (cookie + Bearer session_token)",
          description:
            "Sets the `lime_session` (HttpOnly) and `lime_csrf` cookies and returns the same session as a Bearer token. " +
            "An unknown email and a wrong password are one answer, INVALID_CREDENTIALS.",
          operationId: "loginOwner",
          security: PUBLIC,
        },
      },
    )
    .post(
      "/logout",
      async ({ request, cookie }) => {
        const { user, session } = await requireOwner(ctx, request);
        await logout(ctx.users, user, session.id, clientAddress(request, config.trustProxy));
        clearSessionCookies(cookie, secure);
        return ok({ logged_out: true });
      },
      {
        response: answers(200, LoggedOut, [...INPUT_FAILURES, ...OWNER_WRITE_FAILURES]),
        detail: {
          summary: "Close the current session",
          description: "Clears the session cookies.",
          operationId: "logoutOwner",
          security: OWNER_SESSION,
        },
      },
    )
    .get(
      "/me",
      async ({ request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(presentUser(user));
      },
      {
        response: answers(200, UserView, OWNER_READ_FAILURES),
        detail: { summary: "The logged-in owner", operationId: "getCurrentOwner", security: OWNER_SESSION },
      },
    );
}
