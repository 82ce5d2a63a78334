/**
 * The agent side of LIME: headless login to a site (fetch the PoW challenge,
 * solve it with the core's WASM solver, approve), the agent's profile,
 * self-service passports presented to sites (`Authorization: AgentPassport
 * <jwt>`, see `sdk/scheme.ts`), and MCP access tokens.
 *
 * With a `signingKey` (docs/web-bot-auth.md), passports are bound to the key
 * (`cnf.jkt`, by a proof of possession sent when they are issued) and
 * `fetch` signs each request with it (Web Bot Auth, `request-signing.ts`);
 * the key's registration, rotation and directory live in `keys.ts`.
 */
import type { AgentKeyPair } from "@lime-ts/core/http-signatures";
import { type PowSolver, solve } from "@lime-ts/core/pow";
import { LimeSdkError } from "../errors.ts";
import { resolveConnection } from "../internal/connection.ts";
import { encodePathId, type FetchLike, type HttpClient, normalizeBaseUrl } from "../internal/http.ts";
import {
  peekJwtAudienceIs,
  peekJwtBoundKey,
  peekJwtIssuerAndSubject,
  peekJwtLifetimeMs,
} from "../internal/jwt-peek.ts";
import { requireSecureTransport } from "../internal/loopback.ts";
import type { RetryPolicy } from "../internal/retry.ts";
import { abortError } from "../internal/signals.ts";
import { TokenCache } from "../internal/token-cache.ts";
import { PASSPORT_AUTH_SCHEME } from "../scheme.ts";
import { type AgentKeyRecord, AgentKeyring, type KeyRotation, type SigningKeyInput } from "./keys.ts";
import { mcpDomain } from "./mcp-domain.ts";
import { requestSignatureHeaders } from "./request-signing.ts";
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
  /**
   * The agent's signing key (Ed25519 or P-256): a key pair from
   * `generateAgentKey`/`importAgentKey`, or a private JWK. With it,
   * passports are bound to the key and `fetch` signs every request (Web
   * Bot Auth); register it once with `registerKey()`. See docs/web-bot-auth.md.
   */
  signingKey?: SigningKeyInput;
  /**
   * The issuer (the server's public URL), when it differs from `baseUrl`
   * (an agent inside the server's network): proofs of possession name it,
   * and key directory signatures cover its authority. Default `baseUrl`.
   */
  issuer?: string;
  /**
   * A proof-of-work solver that keeps its workers between logins
   * (`createSolver` from `@lime-ts/core/pow`), for an agent that logs in
   * often; one solver can serve many clients. Default: `solve`, which starts
   * no worker below difficulty 22. You close it when done.
   */
  solver?: Pick<PowSolver, "solve">;
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
  /** Worker count for the solver; default the core's choice for this runtime. A kept `solver` uses its own. */
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
  readonly #keys: AgentKeyring;
  readonly #solve: PowSolver["solve"];

  constructor(options: AgentClientOptions = {}) {
    const connection = resolveConnection("AgentClient", options, "agentToken", "LIME_AGENT_TOKEN");
    ({ token: this.#token, fetch: this.#fetch, http: this.#http } = connection);
    this.baseUrl = this.#http.baseUrl;
    this.#now = options.now ?? Date.now;
    this.#passports = new TokenCache({ skewMs: options.passportRenewSkewMs ?? 30_000, now: this.#now });
    this.#mcpTokens = new TokenCache({ skewMs: options.mcpTokenRenewSkewMs ?? 60_000, now: this.#now });
    this.#allowInsecure = options.allowInsecureTransport === true;
    const { solver } = options;
    if (solver !== undefined && typeof solver?.solve !== "function") {
      throw new TypeError("AgentClient: solver must be a solver from createSolver()");
    }
    this.#solve = solver
      ? (challenge, difficulty, solveOptions) => solver.solve(challenge, difficulty, solveOptions)
      : solve;
    this.#keys = new AgentKeyring(
      {
        http: this.#http,
        agentHeaders: () => this.#agentHeaders(),
        issuer:
          options.issuer === undefined
            ? this.baseUrl
            : normalizeBaseUrl(options.issuer, "AgentClient: issuer"),
        now: Date.now,
        onKeysChanged: () => this.#passports.clear(),
      },
      options.signingKey,
    );
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
    // Before the solve: a signing key that cannot be imported must not waste the proof of work.
    const key = await this.#keys.current();
    const expectedHashes = 2 ** challenge.powDifficulty;
    const started = performance.now();
    let solution: { nonce: string; hashes: number };
    try {
      solution = await this.#solve(challenge.powChallenge, challenge.powDifficulty, {
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
    const path = `/api/v1/modules/agent-login/requests/${encodePathId(challenge.requestId, "requestId")}/approve`;
    const headers = this.#agentHeaders();
    // The proof signs the challenge (its nonce), so the approval's passport is bound to the key.
    if (key !== undefined) headers.dpop = await this.#keys.proof(key, path, challenge.powChallenge);
    const data = await this.#http.send({
      method: "POST",
      path,
      headers,
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
   * (SDK_INVALID_RESPONSE). With a `signingKey`, the passport is bound to it
   * (each attempt proves possession afresh) and cached apart from unbound ones.
   */
  async passport(options: PassportOptions = {}): Promise<string> {
    const audience = options.audience;
    if (audience !== undefined && (typeof audience !== "string" || audience.trim() === "")) {
      throw new TypeError("passport: audience must be a non-empty string");
    }
    return this.#passportFor(audience, await this.#keys.current(), options.signal);
  }

  #passportFor(audience: string | undefined, key: AgentKeyPair | undefined, signal?: AbortSignal) {
    const path = "/api/v1/core/passports";
    return this.#passports.get(passportCacheKey(key, audience), async () => {
      const issuedAt = this.#now();
      const data = await this.#http.send({
        method: "POST",
        path,
        headers: this.#agentHeaders(),
        headersPerAttempt:
          key === undefined ? undefined : async () => ({ dpop: await this.#keys.proof(key, path) }),
        body: audience === undefined ? {} : { audience },
        idempotent: true,
        signal,
      });
      const { passport, lifetimeMs } = readSelfServicePassport(data);
      // A server that ignored the proof would hand out an unbound passport, which sites refuse beside a signature.
      if (key !== undefined && peekJwtBoundKey(passport) !== key.kid) {
        throw new LimeSdkError(
          "SDK_INVALID_RESPONSE",
          "the issued passport is not bound to the signing key",
          {
            detail: { field: "cnf" },
          },
        );
      }
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
   * With a `signingKey`, every request (the retry too) is signed afresh:
   * `Signature-Agent`, `Signature-Input` and `Signature` (Web Bot Auth,
   * docs/web-bot-auth.md).
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
    this.#passports.evict(passportCacheKey(await this.#keys.current(), audience));
    return this.#sendWithPassport(retryCopy, audience);
  }

  async #sendWithPassport(request: Request, audience: string): Promise<Response> {
    const key = await this.#keys.current();
    const passport = await this.#passportFor(audience, key, request.signal);
    const headers = new Headers(request.headers);
    headers.set("authorization", `${PASSPORT_AUTH_SCHEME} ${passport}`);
    if (key !== undefined) {
      // The passport names the issuer whose directory lists the key, and the agent (`sub`) it is for.
      const names = peekJwtIssuerAndSubject(passport);
      if (names === undefined)
        throw new LimeSdkError("SDK_INVALID_RESPONSE", "the passport names no issuer or agent");
      const target = { method: request.method, url: request.url, headers };
      const signed = await requestSignatureHeaders(target, key, {
        issuer: names.issuer,
        agentId: names.subject,
        now: Date.now() / 1000,
      });
      for (const [name, value] of Object.entries(signed)) headers.set(name, value);
      this.#keys.renewDirectorySignatureIfDue(key);
    }
    return this.#fetch(new Request(request, { headers }));
  }

  /**
   * Registers the signing key with the issuer (`POST
   * /api/v1/core/agents/me/keys`, proving possession) and uploads its key
   * directory signature. Once per key: a second time is AGENT_KEY_EXISTS.
   *
   * @example
   * const agent = new AgentClient({ signingKey: await generateAgentKey() });
   * await agent.registerKey({ label: "laptop" });
   */
  registerKey(options: { label?: string; signal?: AbortSignal } = {}): Promise<AgentKeyRecord> {
    return this.#keys.register(options);
  }

  /** This agent's keys, revoked ones too (`GET /api/v1/core/agents/me/keys`). */
  listKeys(options: { signal?: AbortSignal } = {}): Promise<AgentKeyRecord[]> {
    return this.#keys.list(options);
  }

  /**
   * Revokes a key (`DELETE /api/v1/core/agents/me/keys/{kid}`): sites refuse
   * passports bound to it from then on (PASSPORT_REVOKED).
   */
  revokeKey(kid: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#keys.revoke(kid, options);
  }

  /**
   * Replaces the signing key: registers `next` (default: a new, extractable
   * key of the same kind), uploads its directory signature, switches to it,
   * revokes the old one. Store `signingKey` of the answer to keep using it.
   *
   * @example
   * const { signingKey } = await agent.rotateKey();
   * save(await crypto.subtle.exportKey("jwk", signingKey.privateKey));
   */
  rotateKey(
    next?: SigningKeyInput,
    options: { label?: string; signal?: AbortSignal } = {},
  ): Promise<KeyRotation> {
    return this.#keys.rotate(next, options);
  }

  /**
   * Signs the key directory with the signing key (24 h) and uploads it;
   * `fetch` renews it in the background when less than 2 h remain.
   */
  uploadDirectorySignature(
    options: { signal?: AbortSignal } = {},
  ): Promise<{ kid: string; expiresAt: number }> {
    return this.#keys.uploadDirectorySignature(options);
  }

  /** The signing key in use (after a rotation, the new one), or undefined. */
  signingKey(): Promise<AgentKeyPair | undefined> {
    return this.#keys.current();
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

/** Bound and unbound passports (and those of two keys) never stand in for each other. */
function passportCacheKey(key: AgentKeyPair | undefined, audience: string | undefined): string {
  return `${key?.kid ?? ""}\n${audience ?? ""}`;
}

/** True when a 401 names our scheme: the site wants a (new) passport rather than something else. */
function refusesOurPassport(response: Response): boolean {
  const challenge = response.headers.get("www-authenticate") ?? "";
  return challenge.toLowerCase().includes(PASSPORT_AUTH_SCHEME.toLowerCase());
}
