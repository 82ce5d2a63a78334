/**
 * Passport checks for any fetch-style server (Bun.serve, Deno.serve, Hono,
 * Cloudflare Workers, Elysia through `sdk/elysia.ts`).
 *
 * A request presents a passport as `Authorization: AgentPassport <jwt>`
 * (what `AgentClient.fetch` sends). The guard verifies it locally
 * (`PassportVerifier.verifyRequest`: cached JWKS, issuer, audience,
 * lifetime, revocations, and the request's Web Bot Auth signature when the
 * passport is key-bound or the request signed) and either returns the
 * `AgentRequestContext` (the `PassportContext`, with `signature`) or throws. `passportChallenge` turns that
 * error into the 401 answer with `WWW-Authenticate` (RFC 9110 §11.6.1),
 * using RFC 6750 §3's parameters: no `error` when no credentials came,
 * `error="invalid_token"` when they were refused. The description names the
 * core's stable code, never the token.
 */
import { PASSPORT_AUTH_SCHEME } from "../scheme.ts";
import type { AgentRequestContext } from "./request-signature.ts";
import { PassportVerifier, type PassportVerifierOptions } from "./verifier.ts";

export interface PassportGuardOptions extends Omit<PassportVerifierOptions, "audience"> {
  /** This site's audience: passports must name it in `aud` (e.g. the site's origin "https://shop.example"). */
  audience: string | string[];
  /** `realm` in the challenge. Default: the first audience. */
  realm?: string;
}

export type PassportGuard = ((request: Request) => Promise<AgentRequestContext>) & {
  readonly verifier: PassportVerifier;
  readonly realm: string;
};

/**
 * Builds `(request) => Promise<AgentRequestContext>`; it throws
 * `LimeSdkError("SDK_PASSPORT_MISSING")` without a passport, the core's
 * `PassportError` for a refused one and `SignatureError` for a refused
 * request signature, `SDK_JWKS_UNAVAILABLE` /
 * `SDK_KEY_DIRECTORY_UNAVAILABLE` when the issuer's keys or the agent's
 * could not be fetched.
 *
 * @example
 * const guard = createPassportGuard({ issuer: "https://lime.example", audience: "https://shop.example" });
 * Bun.serve({ fetch: async (req) => {
 *   try { const passport = await guard(req); return Response.json({ hello: passport.agentName }) }
 *   catch (error) { return passportChallenge(error, guard.realm) }
 * } });
 */
export function createPassportGuard(options: PassportGuardOptions): PassportGuard {
  if (options?.audience === undefined) throw new TypeError("createPassportGuard: audience is required");
  const verifier = new PassportVerifier(options);
  const realm =
    options.realm ?? (Array.isArray(options.audience) ? options.audience[0] : options.audience) ?? "";
  const guard = (request: Request) => verifier.verifyRequest(request);
  return Object.assign(guard, { verifier, realm });
}

export { passportFrom } from "../internal/authorization.ts";

/** The `WWW-Authenticate` value for a failed guard (RFC 9110 §11.6.1, parameters as RFC 6750 §3). */
export function challengeHeader(error: unknown, realm: string): string {
  const params = [`realm="${quote(realm)}"`];
  const code = (error as { code?: unknown })?.code;
  if (code !== "SDK_PASSPORT_MISSING") {
    params.push('error="invalid_token"');
    if (typeof code === "string") params.push(`error_description="${quote(code)}"`);
  }
  return `${PASSPORT_AUTH_SCHEME} ${params.join(", ")}`;
}

/** A failed guard's answer, for any server framework to send. */
export interface PassportRefusal {
  status: 401 | 503;
  headers: Record<string, string>;
  /** The LIME envelope. */
  body: { ok: false; error: { code: string; message: string; detail: Record<string, never> } };
}

/**
 * 401 with `WWW-Authenticate`; 503 with `Retry-After` when the issuer's keys
 * (or the agent's key directory) were never reachable (the passport may well
 * be valid: the site cannot tell yet).
 */
export function passportRefusal(error: unknown, realm: string): PassportRefusal {
  const code =
    typeof (error as { code?: unknown })?.code === "string"
      ? (error as { code: string }).code
      : "UNAUTHORIZED";
  if (code === "SDK_JWKS_UNAVAILABLE" || code === "SDK_KEY_DIRECTORY_UNAVAILABLE") {
    return {
      status: 503,
      headers: { "retry-after": "5" },
      body: { ok: false, error: { code, message: "The passport issuer cannot be reached.", detail: {} } },
    };
  }
  const message =
    code === "SDK_PASSPORT_MISSING"
      ? "An agent passport is required."
      : code.startsWith("SIGNATURE_")
        ? "The request signature was refused."
        : "The agent passport was refused.";
  return {
    status: 401,
    headers: { "www-authenticate": challengeHeader(error, realm) },
    body: { ok: false, error: { code, message, detail: {} } },
  };
}

/** The answer for a failed guard as a `Response` (see `passportRefusal`), the body in the LIME envelope. */
export function passportChallenge(error: unknown, realm: string): Response {
  const { status, headers, body } = passportRefusal(error, realm);
  return Response.json(body, { status, headers });
}

/**
 * Wraps a fetch handler so it only runs with a verified passport.
 *
 * @example
 * Deno.serve(withAgentPassport({ issuer, audience: "https://shop.example" }, (req, passport) =>
 *   Response.json({ agent: passport.agentId })));
 */
export function withAgentPassport(
  options: PassportGuardOptions,
  handler: (request: Request, passport: AgentRequestContext) => Response | Promise<Response>,
): (request: Request) => Promise<Response> {
  const guard = createPassportGuard(options);
  return async (request) => {
    let passport: AgentRequestContext;
    try {
      passport = await guard(request);
    } catch (error) {
      if (!isGuardError(error)) throw error;
      return passportChallenge(error, guard.realm);
    }
    return handler(request, passport);
  };
}

/**
 * Errors the guard answers with a challenge. Anything else, including
 * PASSPORT_INVALID_OPTION (the site's own configuration is wrong), is a bug
 * and propagates to the server's error handling.
 */
export function isGuardError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || code === "PASSPORT_INVALID_OPTION") return false;
  return (
    code.startsWith("PASSPORT_") ||
    code.startsWith("SIGNATURE_") ||
    code === "SDK_PASSPORT_MISSING" ||
    code === "SDK_JWKS_UNAVAILABLE" ||
    code === "SDK_KEY_DIRECTORY_UNAVAILABLE"
  );
}

function quote(value: string): string {
  return value.replace(/[\\"]/g, "\\$&").replace(/[^\x20-\x7e]/g, "");
}
