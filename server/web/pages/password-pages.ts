/**
 * A forgotten password: ask for a link by email, then choose a new password
 * on the page the link opens. The same services and rate limits as
 * `/api/v1/foundation/users/password/*`; the answer to "send me a link" is
 * the same whether or not the address has an account.
 */

import { Elysia } from "elysia";
import type { ServerConfig } from "../../config.ts";
import { DomainError, RateLimitedError } from "../../errors.ts";
import {
  type AccountLimits,
  limitPasswordForgot,
  limitPasswordReset,
} from "../../foundation/users/limits.ts";
import { requestPasswordReset, resetPassword } from "../../foundation/users/password-reset.ts";
import { ForgotPasswordBody, ResetPasswordBody } from "../../foundation/users/schemas.ts";
import type { UserDeps } from "../../foundation/users/service.ts";
import { clientAddress } from "../../http/client-address.ts";
import type { RateLimiter } from "../../http/rate-limit.ts";
import { errorSummary, type FieldErrors, field, notice } from "../components.ts";
import { formFields } from "../forms.ts";
import { html } from "../html.ts";
import { renderPage } from "../layout.ts";
import { redirectTo } from "../navigation.ts";
import { clearedSessionCookies } from "../session.ts";
import { fieldErrors, hasErrors } from "../validate.ts";
import { EMAIL_MESSAGE, NEW_PASSWORD_MESSAGE, tooManyAttempts } from "./account-pages.ts";

export interface PasswordPageDeps {
  config: Pick<ServerConfig, "publicUrl" | "rateLimits" | "trustProxy">;
  users: UserDeps;
  rateLimiter: RateLimiter;
}

const LINK_DEAD =
  "The link was already used, has expired, or a newer one was sent. Ask for a new link; only the latest one works.";

function forgotPage(email: string, errors: FieldErrors = {}, sent = false, status = 200): Response {
  return renderPage({
    title: "Reset your password",
    narrow: true,
    status,
    body: html`${errorSummary(errors)}${sent ? notice("If an account has this address, a link to choose a new password is on its way. It works once, for a limited time.") : ""}
<h1>Reset your password</h1>
<p>Enter the email address of your account. We send a link that lets you choose a new password.</p>
<form method="post" action="/forgot-password" novalidate>
  ${field({ name: "email", label: "Email address", type: "email", value: email, autocomplete: "email", error: errors.email, required: true })}
  <div class="actions"><button type="submit">Send the link</button></div>
</form>
<p><a href="/signin">Back to sign in</a></p>`,
  });
}

function resetPage(token: string, errors: FieldErrors = {}, status = 200): Response {
  return renderPage({
    title: "Choose a new password",
    narrow: true,
    status,
    // The token is in this page's address: no Referer may carry it anywhere.
    referrerPolicy: "no-referrer",
    body: html`${errorSummary(errors)}
<h1>Choose a new password</h1>
<p>Setting it signs you out everywhere; then sign in with the new password.</p>
<form method="post" action="/reset-password" novalidate>
  <input type="hidden" name="token" value="${token}">
  ${field({ name: "password", label: "New password", type: "password", autocomplete: "new-password", hint: "At least 8 characters.", error: errors.password, required: true })}
  <div class="actions"><button type="submit">Set new password</button></div>
</form>`,
  });
}

function deadLinkPage(status: number): Response {
  return renderPage({
    title: "This link no longer works",
    narrow: true,
    status,
    referrerPolicy: "no-referrer",
    body: html`<h1>This link no longer works</h1>
<p>${LINK_DEAD}</p>
<p><a class="button" href="/forgot-password">Ask for a new link</a></p>`,
  });
}

export function passwordPages(deps: PasswordPageDeps) {
  const { config } = deps;
  const limits: AccountLimits = { rateLimiter: deps.rateLimiter, perMinute: config.rateLimits.authPerMinute };
  const secure = config.publicUrl.startsWith("https://");

  return new Elysia({ detail: { hide: true } })
    .get("/forgot-password", () => forgotPage(""))
    .post("/forgot-password", async ({ body, request }) => {
      const email = formFields(body).text("email");
      const errors = fieldErrors(ForgotPasswordBody, { email }, { email: EMAIL_MESSAGE });
      if (hasErrors(errors)) return forgotPage(email, errors, false, 400);
      const ip = clientAddress(request, config.trustProxy);
      try {
        await limitPasswordForgot(limits, ip, email);
        await requestPasswordReset(deps.users, email, ip);
      } catch (error) {
        if (error instanceof RateLimitedError) return forgotPage(email, tooManyAttempts(error), false, 429);
        throw error;
      }
      return forgotPage(email, {}, true);
    })
    .get("/reset-password", ({ query }) => {
      const token = typeof query.token === "string" ? query.token : "";
      return token === "" ? redirectTo("/forgot-password") : resetPage(token);
    })
    .post("/reset-password", async ({ body, request }) => {
      const form = formFields(body);
      const input = { token: form.text("token"), password: form.exact("password") };
      const errors = fieldErrors(ResetPasswordBody, input, {
        token: LINK_DEAD,
        password: NEW_PASSWORD_MESSAGE,
      });
      if (hasErrors(errors)) return resetPage(input.token, errors, 400);
      const ip = clientAddress(request, config.trustProxy);
      try {
        await limitPasswordReset(limits, ip);
        await resetPassword(deps.users, input, ip);
      } catch (error) {
        if (error instanceof RateLimitedError) return resetPage(input.token, tooManyAttempts(error), 429);
        if (error instanceof DomainError && error.code === "PASSWORD_RESET_TOKEN_EXPIRED")
          return deadLinkPage(410);
        if (error instanceof DomainError && error.code === "PASSWORD_RESET_TOKEN_INVALID")
          return deadLinkPage(400);
        throw error;
      }
      // Every session of the owner is closed; this browser's cookies go with them.
      return redirectTo("/signin?notice=reset", clearedSessionCookies(secure));
    });
}
