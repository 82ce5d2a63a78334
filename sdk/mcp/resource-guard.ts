/**
 * The resource side of MCP authorization, for an MCP server on any
 * fetch-style runtime (Bun, Node 20+, Deno, Workers): only `Request`,
 * `Response`, `URL`, fetch and WebCrypto are used.
 *
 * - Serves Protected Resource Metadata (RFC 9728) at the path RFC 9728 §3.1
 *   derives from the resource URL, with `resource` equal to the URL clients
 *   dial and the LIME server as its authorization server.
 * - Answers a request without a usable token with 401 and
 *   `WWW-Authenticate: Bearer resource_metadata="..."` (RFC 9728 §5.1), and
 *   a token lacking scopes with 403 `insufficient_scope` naming them all at
 *   once (RFC 6750 §3.1, MCP scope challenge handling).
 * - Verifies access tokens locally against the issuer's JWKS (fetched once,
 *   cached by `JwksCache`): RS256 only, `typ: at+jwt` (RFC 9068 §4), issuer,
 *   audience bound to this resource, expiry, and the RFC 9068 required
 *   claims. With `acceptDomainTokens` (default on) a token from LIME's
 *   headless `{"domain"}` endpoint is accepted when its audience
 *   `https://<host>` names this resource's host (and holds "mcp", which
 *   tells it from a token for the host's root resource): it was issued for
 *   every MCP server on the host, so turn it off if the host is shared with
 *   servers you do not trust. A server on a port also accepts the host name
 *   without it (`https://localhost` for `http://localhost:4212/mcp`), which
 *   is all LIME's agent SDK can ask for: it strips ports.
 *
 * Tokens are self-contained: a revoked token keeps verifying here until it
 * expires (the server's default lifetime is 300 s).
 *
 * @example
 * const guard = createMcpResourceGuard({ resource: "https://tools.example/mcp", issuer: "https://lime.example",
 *   requiredScopes: ["mcp:tools"] });
 * const served = guard.handleMetadata(request); if (served) return served;
 * const auth = await guard.authenticate(request); if (!auth.ok) return auth.response;
 * auth.caller.subject; auth.caller.scopes;
 */

import { type JwtClaims, verifyJwt } from "@lime-ts/core";
import type { LocalJwks } from "@lime-ts/core/keys";
import type { FetchLike } from "../internal/http.ts";
import { requireSecureTransport } from "../internal/loopback.ts";
import { JwksCache } from "../site/jwks-cache.ts";

export interface McpResourceGuardOptions {
  /** The URL MCP clients dial, e.g. "https://tools.example/mcp"; the PRM `resource` and the token audience. */
  resource: string;
  /** The LIME server's issuer identifier (its public URL). */
  issuer: string;
  /** Scopes every request must carry; a token without them gets 403 insufficient_scope. */
  requiredScopes?: readonly string[];
  /** PRM `scopes_supported` (default: `requiredScopes`). */
  scopesSupported?: readonly string[];
  /** PRM `resource_name`, shown by some clients. */
  resourceName?: string;
  /** The JWKS URL; by default the issuer's metadata is read once for `jwks_uri` (same origin only). */
  jwksUrl?: string;
  /** Accept LIME domain-form tokens (audience `https://<this host>`, with or without its port). Default true. */
  acceptDomainTokens?: boolean;
  /** Seconds of clock skew tolerated on `exp`/`iat`; default 5, at most 300. */
  clockToleranceSeconds?: number;
  fetch?: FetchLike;
  /** Clock in epoch milliseconds; tests move it. */
  now?: () => number;
  /**
   * Development only: accept an `http:` issuer or JWKS URL that is not
   * loopback. Without it such a URL is refused here, at construction: keys
   * fetched in clear could be replaced on the way.
   */
  allowInsecureTransport?: boolean;
}

/** Who is calling, as the verified token says. */
export interface McpCaller {
  /** `sub`: the agent id, or the owner's user id when a person approved. */
  subject: string;
  /** Whether `subject` is an agent or an owner (LIME's `lime_principal` claim), when the token says. */
  principal: "agent" | "owner" | null;
  clientId: string;
  scopes: string[];
  issuer: string;
  audience: string[];
  /** NumericDate (seconds since the epoch). */
  expiresAt: number;
  jwtId: string;
  token: string;
  claims: JwtClaims;
}

export type GuardResult = { ok: true; caller: McpCaller } | { ok: false; response: Response };

/** The `AuthInfo` shape of `@modelcontextprotocol/sdk` (handed to tool handlers as `extra.authInfo`). */
export interface McpAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
  resource: URL;
  extra: { subject: string; principal: "agent" | "owner" | null; issuer: string };
}

/** The canonical form of a resource URL (lowercase scheme and host, no trailing slash at the root). */
export function canonicalResourceUrl(raw: string): string {
  const url = new URL(raw);
  if (url.hash !== "" || raw.includes("#")) throw new TypeError("resource must not contain a fragment");
  if (url.search !== "") throw new TypeError("resource must not contain a query");
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new TypeError("resource must be an http(s) URL");
  return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}

/** The audience member that marks a LIME headless `{"domain"}` token (its other member is `https://<host>`). */
const LIME_DOMAIN_TOKEN_MARK = "mcp";

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Scopes end up in `WWW-Authenticate`: each must be an RFC 6749 §3.3 scope-token (no space, quote or break). */
function checkScopes(scopes: readonly string[], label: string): void {
  for (const scope of scopes) {
    if (typeof scope !== "string" || !SCOPE_TOKEN.test(scope)) {
      throw new TypeError(`${label}: ${JSON.stringify(scope)} is not a scope token (RFC 6749 §3.3)`);
    }
  }
}

function quoted(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function describe(code: string): string {
  switch (code) {
    case "PASSPORT_EXPIRED":
      return "The access token has expired.";
    case "PASSPORT_WRONG_AUDIENCE":
      return "The access token was not issued for this resource.";
    case "PASSPORT_WRONG_ISSUER":
      return "The access token was not issued by the expected authorization server.";
    case "PASSPORT_WRONG_TYPE":
      return "The token is not an access token (typ at+jwt).";
    case "PASSPORT_NOT_YET_VALID":
      return "The access token is not valid yet.";
    default:
      return "The access token is not valid.";
  }
}

export class McpResourceGuard {
  readonly resource: string;
  readonly issuer: string;
  /** Path of the Protected Resource Metadata document on this server (RFC 9728 §3.1). */
  readonly metadataPath: string;
  readonly metadataUrl: string;
  readonly requiredScopes: readonly string[];
  readonly #scopesSupported: readonly string[];
  readonly #resourceName: string | undefined;
  readonly #audiences: string[];
  readonly #acceptDomainTokens: boolean;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #clockTolerance: number;
  readonly #jwksUrl: string | undefined;
  #jwks: Promise<JwksCache> | undefined;
  readonly #allowInsecureTransport: boolean;

  constructor(options: McpResourceGuardOptions) {
    this.resource = canonicalResourceUrl(options.resource);
    const issuer = new URL(options.issuer);
    this.issuer = options.issuer.replace(/\/+$/, "");
    if (issuer.protocol !== "https:" && issuer.protocol !== "http:")
      throw new TypeError("issuer must be an http(s) URL");
    requireSecureTransport(issuer, "McpResourceGuard: issuer", options.allowInsecureTransport);
    if (options.jwksUrl !== undefined) {
      requireSecureTransport(
        new URL(options.jwksUrl),
        "McpResourceGuard: jwksUrl",
        options.allowInsecureTransport,
      );
    }
    checkScopes([...(options.requiredScopes ?? []), ...(options.scopesSupported ?? [])], "scopes");
    this.requiredScopes = [...(options.requiredScopes ?? [])];
    this.#scopesSupported = [...(options.scopesSupported ?? this.requiredScopes)];
    this.#resourceName = options.resourceName;
    const url = new URL(this.resource);
    this.metadataPath = `/.well-known/oauth-protected-resource${url.pathname === "/" ? "" : url.pathname}`;
    this.metadataUrl = `${url.origin}${this.metadataPath}`;
    this.#audiences = [this.resource];
    this.#acceptDomainTokens = options.acceptDomainTokens ?? true;
    if (this.#acceptDomainTokens) {
      this.#audiences.push(`https://${url.host}`);
      // LIME's agent SDK strips the port from its target (`_domain.py`): a server on a port is
      // asked for by its host name alone, and the token names that.
      if (url.port !== "") this.#audiences.push(`https://${url.hostname}`);
    }
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    const tolerance = options.clockToleranceSeconds ?? 5;
    if (!(tolerance >= 0 && tolerance <= 300)) throw new RangeError("clockToleranceSeconds must be 0 to 300");
    this.#clockTolerance = tolerance;
    this.#jwksUrl = options.jwksUrl;
    this.#allowInsecureTransport = options.allowInsecureTransport === true;
  }

  /** The RFC 9728 §2 document. */
  metadata(): Record<string, unknown> {
    return {
      resource: this.resource,
      authorization_servers: [this.issuer],
      bearer_methods_supported: ["header"],
      ...(this.#scopesSupported.length > 0 ? { scopes_supported: this.#scopesSupported } : {}),
      ...(this.#resourceName === undefined ? {} : { resource_name: this.#resourceName }),
    };
  }

  /** Serves the metadata document when `request` asks for it; null for every other request. */
  handleMetadata(request: Request): Response | null {
    if (new URL(request.url).pathname !== this.metadataPath) return null;
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "GET, OPTIONS",
      "access-control-allow-headers": "mcp-protocol-version",
    };
    if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { allow: "GET, HEAD, OPTIONS" } });
    }
    return new Response(JSON.stringify(this.metadata()), {
      status: 200,
      headers: { ...cors, "content-type": "application/json", "cache-control": "public, max-age=3600" },
    });
  }

  /**
   * Checks the request's `Authorization: Bearer` token. On success the
   * caller; otherwise the response to send (401, 403, or 503 when the
   * issuer's keys cannot be fetched).
   */
  async authenticate(
    request: Request,
    options: { requiredScopes?: readonly string[] } = {},
  ): Promise<GuardResult> {
    const required = options.requiredScopes ?? this.requiredScopes;
    if (options.requiredScopes !== undefined) checkScopes(options.requiredScopes, "requiredScopes");
    const header = request.headers.get("authorization");
    const match = header === null ? null : /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (match === null) {
      // RFC 6750 §3.1: a request without credentials gets the challenge and no error code.
      return { ok: false, response: this.#challenge(401, null, null, required) };
    }
    const token = match[1]!;
    let caller: McpCaller;
    try {
      caller = await this.#verify(token);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "SDK_JWKS_UNAVAILABLE" || code === "MCP_ISSUER_METADATA_UNAVAILABLE") {
        return {
          ok: false,
          response: new Response(
            JSON.stringify({
              error: "temporarily_unavailable",
              error_description: "Token keys are unavailable.",
            }),
            { status: 503, headers: { "content-type": "application/json", "retry-after": "5" } },
          ),
        };
      }
      const description = typeof code === "string" ? describe(code) : "The access token is not valid.";
      return { ok: false, response: this.#challenge(401, "invalid_token", description, required) };
    }
    const missing = required.filter((scope) => !caller.scopes.includes(scope));
    if (missing.length > 0) {
      return {
        ok: false,
        response: this.#challenge(
          403,
          "insufficient_scope",
          "The access token lacks required scopes.",
          required,
        ),
      };
    }
    return { ok: true, caller };
  }

  /** The caller as `@modelcontextprotocol/sdk` hands it to tool handlers (`extra.authInfo`). */
  toAuthInfo(caller: McpCaller): McpAuthInfo {
    return {
      token: caller.token,
      clientId: caller.clientId,
      scopes: caller.scopes,
      expiresAt: caller.expiresAt,
      resource: new URL(this.resource),
      extra: { subject: caller.subject, principal: caller.principal, issuer: caller.issuer },
    };
  }

  #challenge(
    status: 401 | 403,
    error: string | null,
    description: string | null,
    scopes: readonly string[],
  ): Response {
    const params = [`resource_metadata=${quoted(this.metadataUrl)}`];
    if (error !== null) params.unshift(`error=${quoted(error)}`);
    if (description !== null) params.push(`error_description=${quoted(description)}`);
    if (scopes.length > 0) params.push(`scope=${quoted(scopes.join(" "))}`);
    const body =
      error === null
        ? { error: "unauthorized", error_description: "Send an access token." }
        : { error, error_description: description };
    return new Response(JSON.stringify(body), {
      status,
      headers: {
        "content-type": "application/json",
        "www-authenticate": `Bearer ${params.join(", ")}`,
        "cache-control": "no-store",
        "access-control-expose-headers": "www-authenticate",
      },
    });
  }

  async #verify(token: string): Promise<McpCaller> {
    const cache = await this.#keys();
    const options = {
      issuer: this.issuer,
      audience: this.#audiences,
      typ: "at+jwt",
      clockTolerance: this.#clockTolerance,
      now: this.#now() / 1000,
    };
    let jwks: LocalJwks = await cache.current();
    let verified: Awaited<ReturnType<typeof verifyJwt>>;
    try {
      verified = await verifyJwt(token, jwks, options);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "PASSPORT_UNKNOWN_KID") throw error;
      const refreshed = await cache.refreshForUnknownKid();
      if (refreshed === undefined || refreshed === jwks) throw error;
      jwks = refreshed;
      verified = await verifyJwt(token, jwks, options);
    }
    const { claims } = verified;
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    // `https://<host>` alone is the canonical form of the host's root resource, another server: the
    // host audience speaks for this server only in LIME's domain token.
    if (!audience.includes(this.resource) && !audience.includes(LIME_DOMAIN_TOKEN_MARK)) {
      throw Object.assign(new Error("token for another resource"), { code: "PASSPORT_WRONG_AUDIENCE" });
    }
    // At a host's root the resource equals the host audience, so a domain token is told by its mark.
    if (!this.#acceptDomainTokens && audience.includes(LIME_DOMAIN_TOKEN_MARK)) {
      throw Object.assign(new Error("domain tokens are refused"), { code: "PASSPORT_WRONG_AUDIENCE" });
    }
    // RFC 9068 §2.2: client_id is required; scope, when present, is a space-separated string.
    if (typeof claims.client_id !== "string" || claims.client_id === "") {
      throw Object.assign(new Error("missing client_id"), { code: "PASSPORT_MISSING_CLAIM" });
    }
    if (claims.scope !== undefined && typeof claims.scope !== "string") {
      throw Object.assign(new Error("malformed scope"), { code: "PASSPORT_INVALID_CLAIM" });
    }
    const principal =
      claims.lime_principal === "agent" || claims.lime_principal === "owner" ? claims.lime_principal : null;
    return {
      subject: claims.sub,
      principal,
      clientId: claims.client_id,
      scopes: typeof claims.scope === "string" ? claims.scope.split(" ").filter((s) => s !== "") : [],
      issuer: claims.iss,
      audience,
      expiresAt: claims.exp,
      jwtId: claims.jti,
      token,
      claims,
    };
  }

  /** The JWKS cache, after reading the issuer's metadata for `jwks_uri` when none was given. */
  #keys(): Promise<JwksCache> {
    this.#jwks ??= this.#discoverJwks().catch((error: unknown) => {
      this.#jwks = undefined;
      throw error;
    });
    return this.#jwks;
  }

  async #discoverJwks(): Promise<JwksCache> {
    const make = (url: string) =>
      new JwksCache({
        url,
        fetch: this.#fetch,
        now: this.#now,
        ...(this.#allowInsecureTransport ? { allowInsecureTransport: true } : {}),
      });
    if (this.#jwksUrl !== undefined) return make(this.#jwksUrl);
    const issuer = new URL(this.issuer);
    const path = issuer.pathname === "/" ? "" : issuer.pathname;
    const unavailable = () =>
      Object.assign(new Error("the issuer's metadata could not be read"), {
        code: "MCP_ISSUER_METADATA_UNAVAILABLE",
      });
    let metadata: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await this.#fetch(`${issuer.origin}/.well-known/oauth-authorization-server${path}`, {
        headers: { accept: "application/json" },
        redirect: "manual",
      });
      if (!response.ok) throw unavailable();
      metadata = (await response.json()) as typeof metadata;
    } catch {
      throw unavailable();
    }
    // RFC 8414 §3.3: the document must name the issuer it was fetched for; keys come from its own origin only.
    if (metadata.issuer !== this.issuer || typeof metadata.jwks_uri !== "string") throw unavailable();
    if (new URL(metadata.jwks_uri).origin !== issuer.origin) throw unavailable();
    return make(metadata.jwks_uri);
  }
}

/** Shorthand for `new McpResourceGuard(options)`. */
export function createMcpResourceGuard(options: McpResourceGuardOptions): McpResourceGuard {
  return new McpResourceGuard(options);
}
