/**
 * Credential extraction for the routes: owner sessions (cookie or Bearer),
 * the operator's admin token. Agent and site tokens are checked by their
 * services (`authenticateAgent`, `authenticateSite`) from the raw header.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { AppContext } from "../context.ts";
import { DomainError } from "../errors.ts";
import { authenticateOwner, type OwnerPrincipal } from "../foundation/sessions/service.ts";

export const SESSION_COOKIE = "lime_session";
export const CSRF_COOKIE = "lime_csrf";

/** The value of one cookie from the `Cookie` header (RFC 6265 §5.4), or null. */
export function readCookie(request: Request, name: string): string | null {
  const header = request.headers.get("cookie");
  if (header === null) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function requireOwner(ctx: Pick<AppContext, "sessions">, request: Request): Promise<OwnerPrincipal> {
  return authenticateOwner(ctx.sessions, {
    method: request.method,
    authorization: request.headers.get("authorization"),
    sessionCookie: readCookie(request, SESSION_COOKIE),
    csrfHeader: request.headers.get("x-csrf-token"),
  });
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * `Authorization: Bearer <ADMIN_TOKEN>`. With no ADMIN_TOKEN configured the
 * admin API does not exist (NOT_FOUND), so probing it reveals nothing.
 */
export function requireAdmin(ctx: AppContext, request: Request): void {
  const expected = ctx.config.adminToken;
  if (expected === null) throw new DomainError("NOT_FOUND", "No such route.");
  const header = request.headers.get("authorization");
  if (header === null || header.trim() === "") {
    throw new DomainError("ADMIN_TOKEN_MISSING", "Send Authorization: Bearer <ADMIN_TOKEN>.");
  }
  const match = /^Bearer (\S+)$/i.exec(header.trim());
  // Comparing digests keeps the comparison constant-time whatever the lengths.
  if (!match || !timingSafeEqual(digest(match[1]!), digest(expected))) {
    throw new DomainError("ADMIN_TOKEN_INVALID", "The admin token is not valid.");
  }
}
