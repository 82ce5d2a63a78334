/**
 * Session authentication for owners, by cookie or by Bearer token.
 *
 * Cookie-authenticated state changes need the CSRF token in `X-CSRF-Token`:
 * a cross-site form can make the browser send the cookie but cannot read the
 * CSRF cookie to copy it into a header. The CSRF token is bound to the
 * session (its hash is stored on the session row), so a token planted by a
 * sibling subdomain does not match. Bearer requests carry no ambient
 * credential and need no CSRF token.
 */

import type { Clock } from "../../clock.ts";
import { DomainError } from "../../errors.ts";
import { findByToken, hashesEqual, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import type { UserRecord, UserStore } from "../users/store.ts";
import type { SessionRecord, SessionStore } from "./store.ts";

export interface SessionDeps {
  clock: Clock;
  sessions: SessionStore;
  users: UserStore;
}

export interface OwnerPrincipal {
  user: UserRecord;
  session: SessionRecord;
  via: "cookie" | "bearer";
}

const invalid = () => new DomainError("SESSION_INVALID", "The session is invalid or has expired.");

export async function authenticateSessionToken(
  deps: SessionDeps,
  token: string,
): Promise<{ user: UserRecord; session: SessionRecord }> {
  const session = await findByToken("session", token, deps.sessions);
  if (!session) throw invalid();
  if (session.expiresAt <= deps.clock.now()) {
    await deps.sessions.delete(session.id);
    throw invalid();
  }
  const user = await deps.users.findById(session.userId);
  if (!user) throw invalid();
  return { user, session };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Resolves the owner from `Authorization: Bearer <session_token>` or, failing
 * that, from the session cookie, enforcing CSRF on unsafe cookie requests.
 */
export async function authenticateOwner(
  deps: SessionDeps,
  request: {
    method: string;
    authorization: string | null;
    sessionCookie: string | null;
    csrfHeader: string | null;
  },
): Promise<OwnerPrincipal> {
  if (request.authorization !== null) {
    const match = /^Bearer ([^\s]+)$/i.exec(request.authorization.trim());
    if (!match)
      throw new DomainError("AUTHENTICATION_REQUIRED", "Use Authorization: Bearer <session_token>.");
    return { ...(await authenticateSessionToken(deps, match[1]!)), via: "bearer" };
  }
  if (request.sessionCookie === null || request.sessionCookie === "") {
    throw new DomainError("AUTHENTICATION_REQUIRED", "Log in first.");
  }
  const principal = await authenticateSessionToken(deps, request.sessionCookie);
  if (!SAFE_METHODS.has(request.method.toUpperCase())) {
    if (request.csrfHeader === null || request.csrfHeader === "") {
      throw new DomainError("CSRF_TOKEN_MISSING", "Send the CSRF cookie's value in X-CSRF-Token.");
    }
    if (!hashesEqual(hashSecret(request.csrfHeader), principal.session.csrfHash)) {
      throw new DomainError("CSRF_TOKEN_INVALID", "The X-CSRF-Token does not match this session.");
    }
  }
  return { ...principal, via: "cookie" };
}
