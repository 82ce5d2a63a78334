/**
 * Reads claims of a JWT WITHOUT verifying it. Only the agent uses this, on
 * tokens its own issuer just handed it over TLS: to know when to renew
 * them, and to check the issuer honoured the audience it asked for; no
 * site's trust decision rests on it (sites verify with `PassportVerifier`).
 * Each reader returns `undefined` (or false) for anything malformed.
 */
function peekClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The lifetime (`exp - iat`) in milliseconds. The lifetime, not `exp`, is
 * what the caller needs: counted from the moment the token arrived on the
 * local clock, it is immune to skew between the agent's clock and the issuer's.
 */
export function peekJwtLifetimeMs(token: string): number | undefined {
  const { iat, exp } = peekClaims(token) ?? {};
  if (typeof iat !== "number" || typeof exp !== "number" || !Number.isFinite(exp - iat) || exp <= iat) {
    return undefined;
  }
  return (exp - iat) * 1000;
}

/** True when `aud` names `audience` and nothing else (RFC 7519 §4.1.3: a string or an array). */
export function peekJwtAudienceIs(token: string, audience: string): boolean {
  const aud = peekClaims(token)?.aud;
  const list = Array.isArray(aud) ? aud : [aud];
  return list.length > 0 && list.every((entry) => entry === audience);
}

/**
 * `iss` and `sub` when both are non-empty strings: the agent learns from its
 * own passport which issuer names its key directory and which agent it is.
 */
export function peekJwtIssuerAndSubject(token: string): { issuer: string; subject: string } | undefined {
  const { iss, sub } = peekClaims(token) ?? {};
  if (typeof iss !== "string" || iss === "" || typeof sub !== "string" || sub === "") return undefined;
  return { issuer: iss, subject: sub };
}

/** `cnf.jkt` (the key a passport is bound to), or undefined when it has none. */
export function peekJwtBoundKey(token: string): string | undefined {
  const cnf = peekClaims(token)?.cnf;
  const jkt = typeof cnf === "object" && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
  return typeof jkt === "string" ? jkt : undefined;
}
