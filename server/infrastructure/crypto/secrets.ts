/**
 * Bearer secrets (agent, site, session and password-reset tokens) and their storage form.
 *
 * A token is 32 random bytes as base64url behind a readable prefix, so a
 * leaked one is recognisable by secret scanners. The server stores only the
 * SHA-256 of the whole token, looks rows up by that hash, and compares the
 * hashes once more in constant time before trusting the row.
 */

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export type TokenKind = "agent" | "site" | "session" | "csrf" | "password_reset";

const PREFIX: Record<TokenKind, string> = {
  agent: "lime_agent_",
  site: "lime_site_",
  session: "lime_session_",
  csrf: "lime_csrf_",
  password_reset: "lime_reset_",
};

const BODY = /^[A-Za-z0-9_-]{43}$/;

/** A fresh token: `lime_<kind>_` + base64url(32 random bytes). */
export function generateToken(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString("base64url");
}

/** True when `value` has the shape of a `kind` token (cheap check before any lookup). */
export function isTokenShaped(kind: TokenKind, value: string): boolean {
  const prefix = PREFIX[kind];
  return (
    value.length === prefix.length + 43 && value.startsWith(prefix) && BODY.test(value.slice(prefix.length))
  );
}

/** The stored form of a secret: lowercase hex SHA-256. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Constant-time equality of two hex digests of equal length. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The row a presented `kind` token belongs to, or null: the shape check
 * before any lookup, the lookup by the token's hash, then the constant-time
 * comparison of the hashes before the row is trusted.
 *
 * @example
 * const agent = await findByToken("agent", presented, deps.agents);
 */
export async function findByToken<T extends { tokenHash: string }>(
  kind: TokenKind,
  token: string,
  store: { findByTokenHash(tokenHash: string): Promise<T | null> },
): Promise<T | null> {
  if (!isTokenShaped(kind, token)) return null;
  const tokenHash = hashSecret(token);
  const row = await store.findByTokenHash(tokenHash);
  return row !== null && hashesEqual(row.tokenHash, tokenHash) ? row : null;
}

/** A decimal code of `digits` digits drawn without modulo bias. */
export function generateNumericCode(digits: number): string {
  let out = "";
  while (out.length < digits) {
    const byte = randomBytes(1)[0]!;
    if (byte < 250) out += String(byte % 10);
  }
  return out;
}
