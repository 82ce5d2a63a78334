/**
 * Signing up, confirming the email, signing in and out: the same services
 * and rate limits as `/api/v1/foundation/users/*`, as forms a person fills
 * in. Wrong input re-renders the form with an error summary and keeps what
 * was typed (never the password).
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { DomainError, RateLimitedError } from "../../errors.ts";
import type { SessionDeps } from "../../foundation/sessions/service.ts";
import {
  type AccountLimits,
  limitLogin,
  limitRegistration,
  limitResend,
  limitVerification,
} from "../../foundation/users/limits.ts";
import { LoginBody, RegisterBody, VerifyEmailBody } from "../../foundation/users/schemas.ts";
import {
  login,
  logout,
  normalizeEmail,
  registerUser,
  resendVerificationCode,
  type UserDeps,
  verifyEmail,
} from "../../foundation/users/service.ts";
import { clientAddress } from "../../http/client-address.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import { errorSummary, type FieldErrors, field, notice } from "../components.ts";
import { formFields } from "../forms.ts";
import { html, type SafeHtml } from "../html.ts";
import { renderPage } from "../layout.ts";
import { redirectTo, safeNextPath } from "../navigation.ts";
import { clearedSessionCookies, isGenuineForm, sessionCookies, signedInOwner } from "../session.ts";
import { fieldErrors, hasErrors } from "../validate.ts";

export interface AccountPageDeps {
  config: Pick<ServerConfig, "emailVerification" | "lifetimes" | "publicUrl" | "rateLimits" | "trustProxy">;
  users: UserDeps;
  sessions: SessionDeps;
  rateLimiter: RateLimiter;
}

export const EMAIL_MESSAGE = "Enter an email address in the form name@example.com";
export const NEW_PASSWORD_MESSAGE = "Enter a password of at least 8 characters";
const MAIL_DOWN = "We could not send the email just now. Nothing was saved; try again in a few minutes.";

export function tooManyAttempts(error: RateLimitedError): FieldErrors {
  return { form: `Too many attempts. Try again in ${error.retryAfterSeconds} seconds.` };
}

/** `next` travels through sign-up, confirmation and sign-in, so a connect page's visitor comes back to it. */
function withNext(path: string, next: string): string {
  if (next === "/") return path;
  return `${path}${path.includes("?") ? "&" : "?"}next=${encodeURIComponent(next)}`;
}

function signUpPage(
  values: { email?: string; next: string },
  errors: FieldErrors = {},
  status = 200,
): Response {
  return renderPage({
    title: "Create an account",
    narrow: true,
    status,
    body: html`${errorSummary(errors)}
<h1>Create an account</h1>
<p class="lead">An owner account holds your agents and your sites.</p>
<form method="post" action="/signup" novalidate>
  <input type="hidden" name="next" value="${values.next}">
  ${field({ name: "email", label: "Email address", type: "email", value: values.email, autocomplete: "email", error: errors.email, required: true })}
  ${field({ name: "password", label: "Password", type: "password", autocomplete: "new-password", hint: "At least 8 characters.", error: errors.password, required: true })}
  <div class="actions"><button type="submit">Create account</button></div>
</form>
<p>Already have an account? <a href="${withNext("/signin", values.next)}">Sign in</a>.</p>`,
  });
}

function verifyPage(
  email: string,
  next: string,
  errors: FieldErrors = {},
  message?: string,
  status = 200,
): Response {
  return renderPage({
    title: "Confirm your email",
    narrow: true,
    status,
    body: html`${errorSummary(errors)}${message ? notice(message) : ""}
<h1>Confirm your email</h1>
<p>We sent a 6-digit code to the address below. It expires after a while; you can ask for a new one.</p>
<form method="post" action="/verify" novalidate>
  <input type="hidden" name="next" value="${next}">
  ${field({ name: "email", label: "Email address", type: "email", value: email, autocomplete: "email", error: errors.email, required: true })}
  ${field({ name: "code", label: "Code", inputmode: "numeric", autocomplete: "one-time-code", hint: "6 digits, from the email.", error: errors.code, required: true })}
  <div class="actions"><button type="submit">Confirm</button></div>
</form>
<form method="post" action="/verify/resend">
  <input type="hidden" name="email" value="${email}">
  <input type="hidden" name="next" value="${next}">
  <button type="submit" class="secondary">Send a new code</button>
</form>`,
  });
}

function signInPage(
  values: { email?: string; next: string },
  errors: FieldErrors = {},
  message?: string | SafeHtml,
  status = 200,
): Response {
  return renderPage({
    title: "Sign in",
    narrow: true,
    status,
    body: html`${errorSummary(errors)}${message ? notice(message) : ""}
<h1>Sign in</h1>
<form method="post" action="/signin" novalidate>
  <input type="hidden" name="next" value="${values.next}">
  ${field({ name: "email", label: "Email address", type: "email", value: values.email, autocomplete: "username", error: errors.email, required: true })}
  ${field({ name: "password", label: "Password", type: "password", autocomplete: "current-password", error: errors.password, required: true })}
  <div class="actions"><button type="submit">Sign in</button></div>
</form>
<p><a href="/forgot-password">Forgot your password?</a></p>
<p>No account yet? <a href="${withNext("/signup", values.next)}">Create one</a>.</p>`,
  });
}

const SIGN_IN_NOTICES: Record<string, string> = {
  verified: "Your email is confirmed. Sign in to continue.",
  registered: "Your account is ready. Sign in to continue.",
  signed_out: "You are signed out.",
  reset: "Your password is changed and every other session is closed. Sign in with the new password.",
};

export function accountPages(deps: AccountPageDeps) {
  const { config } = deps;
  const limits: AccountLimits = { rateLimiter: deps.rateLimiter, perMinute: config.rateLimits.authPerMinute };
  const secure = config.publicUrl.startsWith("https://");
  const sessionSeconds = Math.floor(config.lifetimes.sessionMs / 1000);

  return new Elysia({ detail: { hide: true } })
    .get("/signup", ({ query }) => signUpPage({ next: safeNextPath(query.next) }))
    .post("/signup", async ({ body, request }) => {
      const form = formFields(body);
      const input = { email: form.text("email"), password: form.exact("password") };
      const next = safeNextPath(form.text("next"));
      const errors = fieldErrors(RegisterBody, input, {
        email: EMAIL_MESSAGE,
        password: NEW_PASSWORD_MESSAGE,
      });
      if (hasErrors(errors)) return signUpPage({ ...input, next }, errors, 400);
      const ip = clientAddress(request, config.trustProxy);
      try {
        await limitRegistration(limits, ip);
        await registerUser(deps.users, input, ip);
      } catch (error) {
        if (error instanceof RateLimitedError)
          return signUpPage({ ...input, next }, tooManyAttempts(error), 429);
        if (error instanceof DomainError && error.code === "EMAIL_ALREADY_REGISTERED") {
          return signUpPage(
            { ...input, next },
            { email: "An account with this email already exists. Sign in instead." },
            409,
          );
        }
        if (error instanceof DomainError && error.code === "EMAIL_DELIVERY_FAILED") {
          return signUpPage({ ...input, next }, { form: MAIL_DOWN }, 503);
        }
        throw error;
      }
      if (!config.emailVerification) return redirectTo(withNext("/signin?notice=registered", next));
      return redirectTo(withNext(`/verify?email=${encodeURIComponent(normalizeEmail(input.email))}`, next));
    })
    .get("/verify", ({ query }) =>
      verifyPage(typeof query.email === "string" ? query.email : "", safeNextPath(query.next)),
    )
    .post("/verify", async ({ body, request }) => {
      const form = formFields(body);
      const input = { email: form.text("email"), code: form.text("code").replaceAll(" ", "") };
      const next = safeNextPath(form.text("next"));
      const errors = fieldErrors(VerifyEmailBody, input, {
        email: EMAIL_MESSAGE,
        code: "Enter the 6-digit code from the email",
      });
      if (hasErrors(errors)) return verifyPage(input.email, next, errors, undefined, 400);
      const ip = clientAddress(request, config.trustProxy);
      try {
        await limitVerification(limits, ip, input.email);
        await verifyEmail(deps.users, input, ip);
      } catch (error) {
        if (error instanceof RateLimitedError)
          return verifyPage(input.email, next, tooManyAttempts(error), undefined, 429);
        if (error instanceof DomainError) {
          const reasons: Partial<Record<string, FieldErrors>> = {
            VERIFICATION_CODE_INVALID: { code: "That code is not right. Check the email and try again." },
            VERIFICATION_CODE_EXPIRED: { code: "That code has expired. Ask for a new one below." },
            VERIFICATION_ATTEMPTS_EXCEEDED: { code: "Too many wrong codes. Ask for a new one below." },
            EMAIL_ALREADY_VERIFIED: { form: "This email is already confirmed. You can sign in." },
          };
          const answer = reasons[error.code];
          if (answer) return verifyPage(input.email, next, answer, undefined, 400);
        }
        throw error;
      }
      return redirectTo(withNext("/signin?notice=verified", next));
    })
    .post("/verify/resend", async ({ body, request }) => {
      const form = formFields(body);
      const email = form.text("email");
      const next = safeNextPath(form.text("next"));
      const ip = clientAddress(request, config.trustProxy);
      try {
        await limitResend(limits, ip, email);
        await resendVerificationCode(deps.users, email);
      } catch (error) {
        if (error instanceof RateLimitedError)
          return verifyPage(email, next, tooManyAttempts(error), undefined, 429);
        throw error;
      }
      // The same words whether or not the address has an account that waits for a code.
      return verifyPage(email, next, {}, "If this address waits for confirmation, a new code is on its way.");
    })
    .get("/signin", async ({ query, request }) => {
      const next = safeNextPath(query.next);
      if (await signedInOwner(deps.sessions, request)) return redirectTo(next);
      const message = typeof query.notice === "string" ? SIGN_IN_NOTICES[query.notice] : undefined;
      return signInPage({ next }, {}, message);
    })
    .post("/signin", async ({ body, request }) => {
      const form = formFields(body);
      const input = { email: form.text("email"), password: form.exact("password") };
      const next = safeNextPath(form.text("next"));
      const errors = fieldErrors(LoginBody, input, {
        email: "Enter your email address",
        password: "Enter your password",
      });
      if (hasErrors(errors)) return signInPage({ email: input.email, next }, errors, undefined, 400);
      const ip = clientAddress(request, config.trustProxy);
      try {
        await limitLogin(limits, ip, input.email);
        const opened = await login(deps.users, input, ip);
        return redirectTo(next, sessionCookies(opened, { secure, maxAgeSeconds: sessionSeconds }));
      } catch (error) {
        if (error instanceof RateLimitedError) {
          return signInPage({ email: input.email, next }, tooManyAttempts(error), undefined, 429);
        }
        if (error instanceof DomainError && error.code === "INVALID_CREDENTIALS") {
          return signInPage(
            { email: input.email, next },
            { form: "The email or password is not correct." },
            undefined,
            401,
          );
        }
        if (error instanceof DomainError && error.code === "EMAIL_NOT_VERIFIED") {
          const verify = `/verify?email=${encodeURIComponent(normalizeEmail(input.email))}`;
          return signInPage(
            { email: input.email, next },
            {},
            html`Confirm your email first: <a href="${verify}">enter the code we sent</a>.`,
            403,
          );
        }
        throw error;
      }
    })
    .post("/signout", async ({ body, request }) => {
      const owner = await signedInOwner(deps.sessions, request);
      // A sign-out form from another site (logout CSRF) changes nothing.
      if (!owner || !isGenuineForm(owner, formFields(body), request)) return redirectTo("/");
      await logout(deps.users, owner.user, owner.session.id, clientAddress(request, config.trustProxy));
      return redirectTo("/signin?notice=signed_out", clearedSessionCookies(secure));
    });
}
