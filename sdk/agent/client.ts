/**
 * The agent side of LIME: headless login to a site (fetch the PoW challenge,
 * solve it with the core's WASM solver, approve), the agent's profile,
 * self-service passports presented to sites (`Authorization: AgentPassport
 * <jwt>`, see `sdk/scheme.ts`), and MCP access tokens.
 */
import { solve } from "@lime-ts/core/pow";
import { LimeSdkError } from "../errors.ts";
import { resolveConnection } from "../internal/connection.ts";
import { encodePathId, type FetchLike, type HttpClient } from "../internal/http.ts";
import { peekJwtAudienceIs, peekJwtLifetimeMs } from "../internal/jwt-peek.ts";
import { requireSecureTransport } from "../internal/loopback.ts";
import type { RetryPolicy } from "../internal/retry.ts";
import { abortError } from "../internal/signals.ts";
import { TokenCache } from "../internal/token-cache.ts";
import { PASSPORT_AUTH_SCHEME } from "../scheme.ts";
import { mcpDomain } from "./mcp-domain.ts";
import {
  type AgentProfile,
  type LoginApproval,
  type LoginChallenge,
  readApproval,
  readChallenge,
  readProfile,
  readSelfServicePassport,
  readTokenResponse,
} from "./wire.ts";

export interface AgentClientOptions {
  /** The LIME server, e.g. "https://lime.example". Default: `LIME_API_BASE`. */
  baseUrl?: string;
  /** The agent's secret token. Default: `LIME_AGENT_TOKEN`. */
  agentToken?: string;
  /** Transport; default the global fetch. */
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt deadline for API calls. Default 30 s. */
  timeoutMs?: number;
  /** Renew a cached passport this long before it expires. Default 30 s (capped at half its lifetime). */
  passportRenewSkewMs?: number;
  /** Renew a cached MCP access token this long before it expires. Default 60 s (capped likewise). */
  mcpTokenRenewSkewMs?: number;
  /**
   * Development only: accept a plain `http:` `baseUrl` off loopback, and let
   * `fetch` present passports to plain `http:` hosts off loopback. Default
   * false: the agent token and passports are bearer credentials, readable by
   * anyone on the path. Loopback (`localhost`, 127.0.0.0/8, `[::1]`) never needs it.
   */
  allowInsecureTransport?: boolean;
  /** Local clock in epoch ms (token cache timing); tests move it. */
  now?: () => number;
}

export interface SolveProgress {
  /** Hashes tried so far. */
  hashes: number;
  /** Expected hashes for this difficulty (2^difficulty); the solve may take more or fewer. */
  expectedHashes: number;
}

export interface LoginOptions {
  signal?: AbortSignal;
  onProgress?: (progress: SolveProgress) => void;
  /** Worker count for the solver; default the core's choice for this runtime. */
  workers?: number;
}

export interface PassportOptions {
  /** Who the passport is for; default the server's (`lime-passport`). */
  audience?: string;
  signal?: AbortSignal;
}

export class AgentClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #http: HttpClient;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #passports: TokenCache<string>;
  readonly #mcpTokens: TokenCache<string>;
  readonly #allowInsecure: boolean;

  constructor(options: AgentClientOptions = {}) {
    const connection = resolveConnection("AgentClient", options, "agentToken", "LIME_AGENT_TOKEN");
    ({ token: this.#token, fetch: this.#fetch, http: this.#http } = connection);
    this.baseUrl = this.#http.baseUrl;
    this.#now = options.now ?? Date.now;
    this.#passports = new TokenCache({ skewMs: options.passportRenewSkewMs ?? 30_000, now: this.#now });
    this.#mcpTokens = new TokenCache({ skewMs: options.mcpTokenRenewSkewMs ?? 60_000, now: this.#now });
    this.#allowInsecure = options.allowInsecureTransport === true;
  }

  /** The public challenge of a login request (`GET /api/v1/auth/requests/{id}`, no token). */
  async getLoginChallenge(
    requestId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<LoginChallenge> {
    const data = await this.#http.send({
      method: "GET",
      path: `/api/v1/auth/requests/${encodePathId(requestId, "requestId")}`,
      idempotent: true,
      signal: options.signal,
    });
    return readChallenge(data);
  }

  /**
   * Logs this agent into the site that created `requestId`: fetches the
   * challenge, solves the proof of work, approves. The approval is sent
   * once (never retried: a second approval is refused as already approved).
   *
   * @example
   * const agent = new AgentClient({ baseUrl: "https://lime.example", agentToken });
   * const approval = await agent.login(requestId, { onProgress: ({ hashes }) => console.log(hashes) });
   */
  async login(requestId: string, options: LoginOptions = {}): Promise<LoginApproval> {
    const { signal } = options;
    const challenge = await this.getLoginChallenge(requestId, { signal });
    if (challenge.status !== "PENDING") {
      throw new LimeSdkError(
        "SDK_LOGIN_NOT_PENDING",
        `the login request is ${challenge.status}, not PENDING`,
        {
          detail: { status: challenge.status },
        },
      );
    }
    if (challenge.powAlgorithm !== "sha256") {
      throw new LimeSdkError(
        "SDK_UNSUPPORTED_POW",
        `unsupported proof-of-work algorithm ${challenge.powAlgorithm}`,
      );
    }
    const expectedHashes = 2 ** challenge.powDifficulty;
    const started = performance.now();
    let solution: { nonce: string; hashes: number };
    try {
      solution = await solve(challenge.powChallenge, challenge.powDifficulty, {
        signal,
        workers: options.workers,
        onProgress: options.onProgress
          ? (hashes: number) => options.onProgress?.({ hashes, expectedHashes })
          : undefined,
      });
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      throw error;
    }
    const solveMs = performance.now() - started;
    const data = await this.#http.send({
      method: "POST",
      path: `/api/v1/modules/agent-login/requests/${encodePathId(challenge.requestId, "requestId")}/approve`,
      headers: this.#agentHeaders(),
      body: { pow_nonce: solution.nonce },
      idempotent: false,
      signal,
    });
    return {
      ...readApproval(data),
      pow: { difficulty: challenge.powDifficulty, nonce: solution.nonce, hashes: solution.hashes, solveMs },
    };
  }

  /** `GET /api/v1/core/agents/me/profile`. */
  async profile(options: { signal?: AbortSignal } = {}): Promise<AgentProfile> {
    const data = await this.#http.send({
      method: "GET",
      path: "/api/v1/core/agents/me/profile",
      headers: this.#agentHeaders(),
      idempotent: true,
      signal: options.signal,
    });
    return readProfile(data);
  }

  /**
   * A self-service passport for `audience`, from cache while it has more
   * than the renew skew left, else freshly issued (`POST
   * /api/v1/core/passports`); concurrent callers share one issuance.
   * Issuing is retried on transient errors: a second passport harms nothing.
   * A passport whose `aud` is not exactly `audience` is refused
   * (SDK_INVALID_RESPONSE).
   */
  passport(options: PassportOptions = {}): Promise<string> {
    const audience = options.audience;
    if (audience !== undefined && (typeof audience !== "string" || audience.trim() === "")) {
      return Promise.reject(new TypeError("passport: audience must be a non-empty string"));
    }
    return this.#passports.get(audience ?? "", async () => {
      const issuedAt = this.#now();
      const data = await this.#http.send({
        method: "POST",
        path: "/api/v1/core/passports",
        headers: this.#agentHeaders(),
        body: audience === undefined ? {} : { audience },
        idempotent: true,
        signal: options.signal,
      });
      const { passport, lifetimeMs } = readSelfServicePassport(data);
      // A server that ignored the audience (issuing the shared default
      // "lime-passport") would give us a passport any site could replay to
      // any other; never present that as one bound to `audience`.
      if (audience !== undefined && !peekJwtAudienceIs(passport, audience)) {
        throw new LimeSdkError(
          "SDK_INVALID_RESPONSE",
          "the issued passport is not for the audience asked for",
          {
            detail: { field: "aud" },
          },
        );
      }
      const lifetime = peekJwtLifetimeMs(passport) ?? lifetimeMs;
      return { value: passport, issuedAt, expiresAt: issuedAt + lifetime };
    });
  }

  /**
   * `fetch` with this agent's passport in `Authorization: AgentPassport <jwt>`.
   * The passport's audience is the target's origin unless `audience` says
   * otherwise. If the site answers 401 with `WWW-Authenticate: AgentPassport`
   * (our passport was refused, e.g. it crossed a key rotation), the cached
   * passport is dropped and the request sent once more with a new one.
   *
   * @example
   * const res = await agent.fetch("https://shop.example/api/orders");
   */
  async fetch(
    input: string | URL | Request,
    init?: RequestInit,
    options: { audience?: string } = {},
  ): Promise<Response> {
    const request = new Request(input, init);
    const url = new URL(request.url);
    requireSecureTransport(url, "AgentClient.fetch: the target", this.#allowInsecure);
    const audience = options.audience ?? url.origin;
    const retryCopy = request.clone();
    const first = await this.#sendWithPassport(request, audience);
    if (first.status !== 401 || !refusesOurPassport(first)) return first;
    await first.body?.cancel().catch(() => {});
    this.#passports.evict(audience);
    return this.#sendWithPassport(retryCopy, audience);
  }

  async #sendWithPassport(request: Request, audience: string): Promise<Response> {
    const passport = await this.passport({ audience, signal: request.signal });
    const headers = new Headers(request.headers);
    headers.set("authorization", `${PASSPORT_AUTH_SCHEME} ${passport}`);
    return this.#fetch(new Request(request, { headers }));
  }

  /**
   * An access token for the MCP server at `target` (a host or a URL), from
   * `POST /api/v1/modules/oauth/token` with `{"domain"}`. Cached per
   * domain, renewed lazily when within the skew of expiry, one request per
   * domain however many callers ask at once.
   *
   * @example
   * const token = await agent.mcpAccessToken("https://tools.example/mcp");
   */
  mcpAccessToken(
    target: string | URL,
    options: { signal?: AbortSignal; renew?: boolean } = {},
  ): Promise<string> {
    let domain: string;
    try {
      domain = mcpDomain(target);
    } catch (error) {
      return Promise.reject(error);
    }
    // `renew`: the MCP server refused the cached token (revoked, or a key it has not seen yet).
    if (options.renew) this.#mcpTokens.evict(domain);
    return this.#mcpTokens.get(domain, async () => {
      const issuedAt = this.#now();
      const data = await this.#http.send({
        method: "POST",
        path: "/api/v1/modules/oauth/token",
        headers: this.#agentHeaders(),
        body: { domain },
        idempotent: true,
        shape: "json",
        signal: options.signal,
      });
      const token = readTokenResponse(data);
      return { value: token.accessToken, issuedAt, expiresAt: issuedAt + token.expiresInMs };
    });
  }

  /** Forgets cached passports and MCP tokens (after the agent token was rotated, say). */
  clearCaches(): void {
    this.#passports.clear();
    this.#mcpTokens.clear();
  }

  #agentHeaders(): Record<string, string> {
    return { "x-agent-token": this.#token };
  }
}

/** True when a 401 names our scheme: the site wants a (new) passport rather than something else. */
function refusesOurPassport(response: Response): boolean {
  const challenge = response.headers.get("www-authenticate") ?? "";
  return challenge.toLowerCase().includes(PASSPORT_AUTH_SCHEME.toLowerCase());
}
