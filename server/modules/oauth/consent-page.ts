/**
 * The server-rendered pages of the browser flow: sign in, consent, error,
 * in the same shell as the owner portal (server/web/layout.ts).
 *
 * Everything shown that a client supplied (its name, URIs, scopes) is
 * untrusted text and is escaped by the `html` template; the page names the
 * client's redirect host and the client id's host, warns when the redirect
 * goes to a loopback address (any local program could be listening, MCP
 * 2026-07-28 security considerations), and never loads anything from
 * elsewhere. Pages carry a strict Content-Security-Policy, cannot be framed
 * (clickjacking on an Approve button), and are never cached.
 */

import { errorSummary, field } from "../../web/components.ts";
import { html, type SafeHtml } from "../../web/html.ts";
import { renderPage } from "../../web/layout.ts";
import { isLoopbackHost } from "./registration.ts";

/**
 * The CSP source for a form's own target, beside `'self'`: a page reached by
 * another name of this server (127.0.0.1 for localhost) would otherwise have
 * its form blocked without a word. Naming the action's origin lets the post
 * go out, so a wrong-host page at worst gets the server's explanation
 * instead of a dead button (and `issuer-host.ts` keeps the pages on the
 * issuer's host).
 */
function formTarget(action: string): string {
  // A relative action posts to the page's own origin, which is what 'self' names.
  return URL.canParse(action) ? new URL(action).origin : "'self'";
}

export function renderErrorPage(title: string, message: string, status = 400): Response {
  return renderPage({
    title,
    narrow: true,
    status,
    forms: "none",
    body: html`<h1>${title}</h1><div class="error-summary" role="alert"><p>${message}</p></div>`,
  });
}

export interface ClientView {
  clientId: string;
  name: string | null;
  source: "dynamic" | "metadata_document" | "agent";
}

function describeClient(client: ClientView): SafeHtml {
  // <bdi>: a name registered before bidi characters were refused still cannot reorder the note after it.
  const name = html`<bdi>${client.name ?? "An unnamed application"}</bdi>`;
  if (client.source === "metadata_document") {
    return html`${name} <small>(published at ${new URL(client.clientId).host})</small>`;
  }
  return html`${name} <small>(self-registered; its name is not verified)</small>`;
}

export function renderLoginPage(input: {
  action: string;
  requestId: string;
  loginToken: string;
  client: ClientView;
  error?: string;
}): Response {
  return renderPage({
    title: "Sign in to continue",
    narrow: true,
    status: input.error ? 401 : 200,
    formTargets: [formTarget(input.action)],
    body: html`${errorSummary(input.error ? { form: input.error } : {})}
<h1>Sign in to continue</h1>
<p>${describeClient(input.client)} asks for access on your behalf. Sign in with your LIME account to review the request.</p>
<form method="post" action="${input.action}">
  <input type="hidden" name="authorization_request_id" value="${input.requestId}">
  <input type="hidden" name="login_token" value="${input.loginToken}">
  ${field({ name: "email", label: "Email", type: "email", autocomplete: "username", required: true })}
  ${field({ name: "password", label: "Password", type: "password", autocomplete: "current-password", required: true })}
  <div class="actions"><button type="submit">Sign in</button></div>
</form>`,
  });
}

export function renderConsentPage(input: {
  action: string;
  requestId: string;
  formToken: string;
  client: ClientView;
  redirectUri: string;
  resourceName: string;
  resource: string;
  scopes: string[];
  ownerEmail: string;
}): Response {
  const redirect = new URL(input.redirectUri);
  const loopback = redirect.protocol === "http:" && isLoopbackHost(redirect.hostname);
  return renderPage({
    title: "Authorize access",
    narrow: true,
    // Chromium applies form-action to the redirect that follows a submission, so the client's origin is listed too.
    formTargets: [formTarget(input.action), redirect.origin],
    body: html`<h1>Authorize access</h1>
<p>${describeClient(input.client)} wants to use <strong><bdi>${input.resourceName}</bdi></strong> on your behalf.</p>
<dl class="facts">
  <dt>Signed in as</dt><dd>${input.ownerEmail}</dd>
  <dt>MCP server</dt><dd><code>${input.resource}</code></dd>
  <dt>Permissions</dt><dd>${input.scopes.length === 0 ? html`<em>none</em>` : input.scopes.map((scope) => html`<code>${scope}</code> `)}</dd>
  <dt>Redirects to</dt><dd><strong>${redirect.host}</strong></dd>
  <dt>Client id</dt><dd><code>${input.client.clientId}</code></dd>
</dl>
${
  loopback
    ? html`<p class="warning">The answer goes to <strong>${redirect.host}</strong> on this computer. Any program running here could receive it: approve only if you started this application yourself.</p>`
    : ""
}
<form method="post" action="${input.action}">
  <input type="hidden" name="authorization_request_id" value="${input.requestId}">
  <input type="hidden" name="form_token" value="${input.formToken}">
  <div class="actions">
    <button type="submit" name="decision" value="approve" id="approve">Approve</button>
    <button type="submit" name="decision" value="deny" id="deny" class="secondary">Deny</button>
  </div>
</form>`,
  });
}
