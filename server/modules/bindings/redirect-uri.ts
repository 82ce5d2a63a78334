/**
 * The binding's way back to the site: which `redirect_uri` a site may
 * register with a binding request, and the URL the browser is sent to once
 * the user decided.
 *
 * A passport travels in that URL, so the rules are the ones OAuth applies to
 * redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7.3, RFC 9700 §4.1): absolute,
 * https (plain http only to a loopback host), no userinfo, no fragment, and
 * on the site's registered origin, so a stolen site token cannot route
 * passports to someone else's host.
 */

import { DomainError } from "../../errors.ts";

/** The query parameters the binding adds; a `redirect_uri` may not carry them itself. */
const RESERVED_PARAMETERS = ["passport", "error", "binding_id"] as const;

export type RedirectUriProblem =
  | "not_absolute"
  | "insecure_scheme"
  | "credentials"
  | "fragment"
  | "reserved_parameter"
  | "origin_mismatch";

const WHY: Record<RedirectUriProblem, string> = {
  not_absolute: "redirect_uri must be an absolute URL.",
  insecure_scheme: "redirect_uri must use https (plain http only on localhost, 127.0.0.0/8 or [::1]).",
  credentials: "redirect_uri must not carry a user name or password.",
  fragment: "redirect_uri must not have a fragment.",
  reserved_parameter: "redirect_uri must not carry the passport, error or binding_id parameters itself.",
  origin_mismatch: "redirect_uri must be on the site's registered origin.",
};

/** Hosts a passport may reach over plain http: this machine only (RFC 8252 §7.3, plus "localhost"). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

function refuse(problem: RedirectUriProblem): DomainError {
  return new DomainError("REDIRECT_URI_NOT_ALLOWED", WHY[problem], {
    field: "redirect_uri",
    reason: problem,
  });
}

/** Why `raw` cannot be this site's redirect URI, or null when it can. */
export function redirectUriProblem(raw: string, siteOrigin: string): RedirectUriProblem | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "not_absolute";
  }
  const secure = url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
  if (!secure) return "insecure_scheme";
  if (url.username !== "" || url.password !== "") return "credentials";
  if (raw.includes("#")) return "fragment";
  if (RESERVED_PARAMETERS.some((name) => url.searchParams.has(name))) return "reserved_parameter";
  if (url.origin !== siteOrigin) return "origin_mismatch";
  return null;
}

/**
 * The `redirect_uri` to store, as the URL parser writes it. A site with no
 * registered origin cannot bind (SITE_ORIGIN_REQUIRED): there is nothing to
 * hold its redirect URIs to. Otherwise REDIRECT_URI_NOT_ALLOWED with
 * `detail.reason` naming the rule.
 */
export function checkRedirectUri(raw: string, siteOrigin: string | null): string {
  if (siteOrigin === null) {
    throw new DomainError(
      "SITE_ORIGIN_REQUIRED",
      "Register the site's origin (PATCH /api/v1/foundation/sites/{site_id}) before asking for agent bindings.",
      { field: "origin" },
    );
  }
  const problem = redirectUriProblem(raw, siteOrigin);
  if (problem !== null) throw refuse(problem);
  return new URL(raw).href;
}

/** What the site learns in the browser's redirect. */
export type BindingOutcome = { passport: string } | { error: "access_denied" };

/**
 * `redirect_uri?passport=<JWT>&binding_id=<id>` or
 * `redirect_uri?error=access_denied&binding_id=<id>`. The site's own query
 * is kept byte for byte and the parameters follow it (RFC 6749 §3.1.2
 * keeps the query of a redirection URI likewise).
 *
 * @example
 * bindingRedirectUrl("https://shop.example/cb?from=settings", id, { passport: jwt });
 * // "https://shop.example/cb?from=settings&passport=eyJ...&binding_id=..."
 */
export function bindingRedirectUrl(redirectUri: string, bindingId: string, outcome: BindingOutcome): string {
  const url = new URL(redirectUri);
  const added = new URLSearchParams(
    "passport" in outcome
      ? { passport: outcome.passport, binding_id: bindingId }
      : { error: outcome.error, binding_id: bindingId },
  ).toString();
  const own = url.search.replace(/^\?/, "");
  url.search = own === "" ? added : `${own}&${added}`;
  url.hash = "";
  return url.href;
}
