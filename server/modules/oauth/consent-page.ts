/**
 * The server-rendered pages of the browser flow: sign in, consent, error.
 *
 * Everything shown that a client supplied (its name, URIs, scopes) is
 * untrusted text and is HTML-escaped; the page names the client's
 * redirect host and the client id's host, warns when the redirect goes to a
 * loopback address (any local program could be listening, MCP 2026-07-28
 * security considerations), and never loads anything from elsewhere. Pages
 * carry a strict Content-Security-Policy, cannot be framed (clickjacking on
 * an Approve button), and are never cached.
 */

import { isLoopbackHost } from "./registration.ts";

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}.warn{background:#fff4ce;border:1px solid #e0b400;padding:.6rem;border-radius:4px}
.error{background:#fde7e9;border:1px solid #d13438;padding:.6rem;border-radius:4px}label{display:block;margin:.6rem 0}
input[type=email],input[type=password]{width:100%;padding:.4rem;font-size:1rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem}`;

/**
 * The CSP source for a form's own target. Not `'self'`: that is the host
 * the page happened to be served from, and a page reached by another name
 * of this server (127.0.0.1 for localhost) would have its form blocked
 * without a word. Naming the action's origin lets the post go out, so a
 * wrong-host page at worst gets the server's explanation instead of a dead
 * button (and `issuer-host.ts` keeps the pages on the issuer's host).
 */
function formTarget(action: string): string {
  // A relative action posts to the page's own origin, which is what 'self' names.
  return URL.canParse(action) ? new URL(action).origin : "'self'";
}

function page(title: string, body: string, status: number, formAction: string[]): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
  // Chromium applies form-action to the redirect that follows a submission, so the client's origin is listed too.
  const csp = [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `form-action ${formAction.join(" ")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
  return new Response(html, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      pragma: "no-cache",
      "content-security-policy": csp,
      "x-frame-options": "DENY",
      // Not "no-referrer": with it Chromium sends `Origin: null` on the form posts, which the Origin check refuses.
      "referrer-policy": "same-origin",
      "x-content-type-options": "nosniff",
    },
  });
}

export function renderErrorPage(title: string, message: string, status = 400): Response {
  return page(title, `<h1>${escapeHtml(title)}</h1><p class="error">${escapeHtml(message)}</p>`, status, [
    "'none'",
  ]);
}

export interface ClientView {
  clientId: string;
  name: string | null;
  source: "dynamic" | "metadata_document" | "agent";
}

function describeClient(client: ClientView): string {
  // <bdi>: a name registered before bidi characters were refused still cannot reorder the note after it.
  const name = `<bdi>${escapeHtml(client.name ?? "An unnamed application")}</bdi>`;
  if (client.source === "metadata_document") {
    return `${name} <small>(published at ${escapeHtml(new URL(client.clientId).host)})</small>`;
  }
  return `${name} <small>(self-registered; its name is not verified)</small>`;
}

export function renderLoginPage(input: {
  action: string;
  requestId: string;
  loginToken: string;
  client: ClientView;
  error?: string;
}): Response {
  const error = input.error ? `<p class="error">${escapeHtml(input.error)}</p>` : "";
  const body = `<h1>Sign in to continue</h1>
<p>${describeClient(input.client)} asks for access on your behalf. Sign in with your LIME account to review the request.</p>
${error}<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="authorization_request_id" value="${escapeHtml(input.requestId)}">
<input type="hidden" name="login_token" value="${escapeHtml(input.loginToken)}">
<label>Email <input type="email" name="email" autocomplete="username" required></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`;
  return page("Sign in", body, input.error ? 401 : 200, [formTarget(input.action)]);
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
  const warning = loopback
    ? `<p class="warn">The answer goes to <strong>${escapeHtml(redirect.host)}</strong> on this computer. Any program running here could receive it: approve only if you started this application yourself.</p>`
    : "";
  const scopes =
    input.scopes.length === 0
      ? "<em>none</em>"
      : input.scopes.map((scope) => `<code>${escapeHtml(scope)}</code>`).join(" ");
  const body = `<h1>Authorize access</h1>
<p>${describeClient(input.client)} wants to use <strong><bdi>${escapeHtml(input.resourceName)}</bdi></strong> on your behalf.</p>
<dl><dt>Signed in as</dt><dd>${escapeHtml(input.ownerEmail)}</dd>
<dt>MCP server</dt><dd><code>${escapeHtml(input.resource)}</code></dd>
<dt>Permissions</dt><dd>${scopes}</dd>
<dt>Redirects to</dt><dd><strong>${escapeHtml(redirect.host)}</strong></dd>
<dt>Client id</dt><dd><code>${escapeHtml(input.client.clientId)}</code></dd></dl>
${warning}<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="authorization_request_id" value="${escapeHtml(input.requestId)}">
<input type="hidden" name="form_token" value="${escapeHtml(input.formToken)}">
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button></form>`;
  return page("Authorize access", body, 200, [formTarget(input.action), redirect.origin]);
}
