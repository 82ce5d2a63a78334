/**
 * Who is signed in on a page, and whether a form really came from our page.
 *
 * Pages use the same session as the JSON API: the `lime_session` cookie
 * (HttpOnly) and the `lime_csrf` cookie whose hash is stored on the session.
 * A form carries the CSRF token in a hidden `csrf_token` field; a cross-site
 * form can make the browser send the cookie but cannot read the token to put
 * it in the form. A present `Origin` must also name the host the request was
 * sent to (a cross-site form's Origin is the other site's), whichever of the
 * server's names the browser used.
 */

import { authenticateSessionToken, type SessionDeps } from "../foundation/sessions/service.ts";
import type { SessionRecord } from "../foundation/sessions/store.ts";
import type { UserRecord } from "../foundation/users/store.ts";
import { CSRF_COOKIE, readCookie, SESSION_COOKIE } from "../http/auth.ts";
import { hashesEqual, hashSecret } from "../infrastructure/crypto/secrets.ts";
import type { FormFields } from "./forms.ts";

export interface PageOwner {
  user: UserRecord;
  session: SessionRecord;
  /** The session's CSRF token, for the forms of the page being rendered. */
  csrfToken: string;
}

/** The signed-in owner, or null (no cookie, an expired or unknown session, a CSRF cookie of another session). */
export async function signedInOwner(deps: SessionDeps, request: Request): Promise<PageOwner | null> {
  const token = readCookie(request, SESSION_COOKIE);
  const csrfToken = readCookie(request, CSRF_COOKIE);
  if (!token || !csrfToken) return null;
  try {
    const { user, session } = await authenticateSessionToken(deps, token);
    if (!hashesEqual(hashSecret(csrfToken), session.csrfHash)) return null;
    return { user, session, csrfToken };
  } catch {
    return null;
  }
}

/** True when `Origin` is absent or names the host the request was addressed to. */
export function sentFromOurPage(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const host = request.headers.get("host");
  try {
    return host !== null && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** True when the form carries this session's CSRF token and came from one of our pages. */
export function isGenuineForm(owner: PageOwner, form: FormFields, request: Request): boolean {
  if (!sentFromOurPage(request)) return false;
  const token = form.text("csrf_token");
  return token !== "" && hashesEqual(hashSecret(token), owner.session.csrfHash);
}

/** The session and CSRF cookies of a new session, as `Set-Cookie` values (RFC 6265 §4.1). */
export function sessionCookies(
  opened: { sessionToken: string; csrfToken: string },
  options: { secure: boolean; maxAgeSeconds: number },
): string[] {
  const attributes = `Path=/; SameSite=Lax; Max-Age=${options.maxAgeSeconds}${options.secure ? "; Secure" : ""}`;
  return [
    `${SESSION_COOKIE}=${opened.sessionToken}; HttpOnly; ${attributes}`,
    `${CSRF_COOKIE}=${opened.csrfToken}; ${attributes}`,
  ];
}

/** `Set-Cookie` values that end the session in this browser. */
export function clearedSessionCookies(secure: boolean): string[] {
  const attributes = `Path=/; SameSite=Lax; Max-Age=0${secure ? "; Secure" : ""}`;
  return [`${SESSION_COOKIE}=; HttpOnly; ${attributes}`, `${CSRF_COOKIE}=; ${attributes}`];
}
