import { type Cookie, Elysia } from "elysia";
import { isoTime } from "../../clock.ts";
import type { AppContext } from "../../context.ts";
import { CSRF_COOKIE, requireOwner, SESSION_COOKIE } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
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
  ForgotPasswordBody,
  LoginBody,
  RegisterBody,
  ResendBody,
  ResetPasswordBody,
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
      { body: RegisterBody, detail: { summary: "Register an owner account" } },
    )
    .post(
      "/register/verify",
      async ({ body, request }) => {
        const ip = clientAddress(request, config.trustProxy);
        await limitVerification(limits, ip, body.email);
        return ok(presentUser(await verifyEmail(ctx.users, body, ip)));
      },
      { body: VerifyEmailBody, detail: { summary: "Confirm the email with the code that was sent" } },
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
      { body: ResendBody, detail: { summary: "Send a new verification code if the account awaits one" } },
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
        detail: { summary: "Mail a password-reset link if an account has this address (202 either way)" },
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
        detail: { summary: "Set a new password with the token from the reset mail; closes every session" },
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
      { body: LoginBody, detail: { summary: "Open a session (cookie + Bearer session_token)" } },
    )
    .post(
      "/logout",
      async ({ request, cookie }) => {
        const { user, session } = await requireOwner(ctx, request);
        await logout(ctx.users, user, session.id, clientAddress(request, config.trustProxy));
        clearSessionCookies(cookie, secure);
        return ok({ logged_out: true });
      },
      { detail: { summary: "Close the current session" } },
    )
    .get(
      "/me",
      async ({ request }) => {
        const { user } = await requireOwner(ctx, request);
        return ok(presentUser(user));
      },
      { detail: { summary: "The logged-in owner" } },
    );
}
