/**
 * The shell every page for people shares: the portal, the OAuth sign-in and
 * consent pages, the binding connect page. One stylesheet and one script,
 * both served by us; a Content-Security-Policy that allows nothing else (no
 * inline script or style, no other origin); never framed, never cached.
 */

import { ASSET_PATHS } from "./assets.ts";
import { html, type SafeHtml } from "./html.ts";

export type NavSection = "home" | "sites" | "agents" | "resources" | "bindings" | "kyc" | "audit";

const NAV: { section: NavSection; href: string; label: string }[] = [
  { section: "home", href: "/", label: "Overview" },
  { section: "sites", href: "/sites", label: "Sites" },
  { section: "agents", href: "/agents", label: "Agents" },
  { section: "resources", href: "/resources", label: "MCP servers" },
  { section: "bindings", href: "/bindings", label: "Bindings" },
  { section: "kyc", href: "/kyc", label: "Verification" },
  { section: "audit", href: "/audit", label: "Audit log" },
];

/** The signed-in owner as the shell shows them: their address and the token its sign-out form needs. */
export interface ShellOwner {
  email: string;
  csrfToken: string;
}

export interface PageOptions {
  title: string;
  body: SafeHtml;
  status?: number;
  /** Present: the portal's navigation and a sign-out button. */
  owner?: ShellOwner | null;
  current?: NavSection;
  /** Forms, pages for one task (sign-in, consent): a narrower column. */
  narrow?: boolean;
  /**
   * Where the page's forms may post, instead of this origin (`'self'`).
   * Chromium applies `form-action` to the redirect that follows a
   * submission, so a page whose form ends in a redirect elsewhere (an OAuth
   * client, a site's callback) names it here too.
   */
  formTargets?: readonly string[];
  /** `none` for pages that must not be able to submit anywhere (error pages). */
  forms?: "self" | "none";
  /** `no-referrer` for a page whose address carries a secret (a password-reset link). */
  referrerPolicy?: "same-origin" | "no-referrer";
}

function contentSecurityPolicy(options: PageOptions): string {
  const formAction = options.forms === "none" ? ["'none'"] : (options.formTargets ?? ["'self'"]);
  return [
    "default-src 'none'",
    "style-src 'self'",
    "script-src 'self'",
    "img-src 'self'",
    `form-action ${formAction.join(" ")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

function navigation(owner: ShellOwner, current: NavSection | undefined): SafeHtml {
  return html`<nav aria-label="Portal">
      <ul>
        ${NAV.map(
          (item) =>
            html`<li><a href="${item.href}"${item.section === current ? html` aria-current="page"` : ""}>${item.label}</a></li>`,
        )}
      </ul>
    </nav>
    <form method="post" action="/signout">
      <input type="hidden" name="csrf_token" value="${owner.csrfToken}">
      <button type="submit" class="link">Sign out <span class="visually-hidden">${owner.email}</span></button>
    </form>`;
}

export function renderPage(options: PageOptions): Response {
  const owner = options.owner ?? null;
  const document = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${options.title} · LIME</title>
<link rel="stylesheet" href="${ASSET_PATHS.css}">
<script src="${ASSET_PATHS.js}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="site"><div class="bar">
  <a class="brand" href="/">LIME</a>
  ${owner ? navigation(owner, options.current) : ""}
</div></header>
<main id="main" class="${options.narrow ? "narrow" : ""}" tabindex="-1">
${options.body}
</main>
<footer class="site"><div>LIME identity for AI agents. <a href="/openapi">API reference</a></div></footer>
<div id="copy-status" class="visually-hidden" role="status" aria-live="polite"></div>
</body>
</html>`;
  return new Response(document.value, {
    status: options.status ?? 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": contentSecurityPolicy(options),
      "x-frame-options": "DENY",
      // Not "no-referrer" by default: with it Chromium sends `Origin: null` on form posts. The reset page
      // needs it (a secret in its address); its form is proven by the token it carries, not by Origin.
      "referrer-policy": options.referrerPolicy ?? "same-origin",
      "x-content-type-options": "nosniff",
    },
  });
}
