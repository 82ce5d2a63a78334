/**
 * Reads the lifetime (`exp - iat`) of a JWT WITHOUT verifying it. Only the
 * agent uses this, on tokens its own issuer just handed it over TLS, to
 * know when to renew them; no trust decision rests on it (sites verify with
 * `PassportVerifier`). The lifetime, not `exp`, is what the caller needs:
 * counted from the moment the token arrived on the local clock, it is
 * immune to skew between the agent's clock and the issuer's.
 * Returns `undefined` for anything malformed.
 */
export function peekJwtLifetimeMs(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { iat?: unknown; exp?: unknown };
    const { iat, exp } = claims;
    if (typeof iat !== "number" || typeof exp !== "number" || !Number.isFinite(exp - iat) || exp <= iat) {
      return undefined;
    }
    return (exp - iat) * 1000;
  } catch {
    return undefined;
  }
}
