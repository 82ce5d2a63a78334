/**
 * The site side of LIME's headless agent login: create login requests,
 * learn their outcomes (one background event-stream consumer, with polling
 * as the fallback), and verify the passports locally against the issuer's
 * JWKS.
 *
 * The site's own id (`site_id`, which login passports are bound to) is
 * taken from the options when given; otherwise it is learned once, only from
 * a login request the site token can read (other sites' requests are
 * NOT_FOUND to it): the answer to creating one, or the site's view of one
 * (`GET /api/v1/modules/agent-login/requests/{id}`). So after
 * `createLoginRequest`, `getLoginRequest` or `waitForLogin`, and in
 * `verifyPassport(jwt, { requestId })` for a request of this site, it is
 * known without being configured.
 */
import { type PassportContext, SITE_LOGIN_AUDIENCE } from "../../core/passport/index.ts";
import { resolveConnection } from "../internal/connection.ts";
import { encodePathId, type FetchLike, type HttpClient } from "../internal/http.ts";
import { httpUrlOrUndefined, requireSecureTransport } from "../internal/loopback.ts";
import type { RetryPolicy } from "../internal/retry.ts";
import { nested, readRecord, str } from "../internal/wire.ts";
import type { JwksCacheOptions } from "./jwks-cache.ts";
import {
  LoginEventConsumer,
  type LoginEventsOptions,
  type LoginHandler,
  type LoginSubscription,
} from "./login-events.ts";
import { PassportVerifier } from "./verifier.ts";
import { type CreatedLoginRequest, type LoginRequestState, readCreated, readRequestState } from "./wire.ts";

export interface SiteClientOptions {
  /** The LIME server, e.g. "https://lime.example". Default: `LIME_API_BASE`. */
  baseUrl?: string;
  /** The site's secret token. Default: `LIME_SITE_TOKEN`. */
  siteToken?: string;
  /** This site's id; learned from the issuer when absent. */
  siteId?: string;
  /** Expected `iss` of passports. Default: the base URL. */
  issuer?: string;
  /** Default `<issuer>/.well-known/jwks.json`. */
  jwksUrl?: string;
  /**
   * Development only: accept plain `http:` off loopback for `baseUrl`,
   * `issuer` and `jwksUrl`. Default false: the site token would travel in
   * clear, and anyone on the path could swap the JWKS and forge logins.
   * Loopback (`localhost`, 127.0.0.0/8, `[::1]`) never needs it.
   */
  allowInsecureTransport?: boolean;
  /** Allowed clock skew, seconds. Default 30. */
  clockToleranceSec?: number;
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  jwks?: Omit<JwksCacheOptions, "url" | "fetch" | "now" | "allowInsecureTransport">;
  events?: LoginEventsOptions;
  /** Clock in epoch ms; tests move it. */
  now?: () => number;
}

export interface WaitForLoginOptions {
  signal?: AbortSignal;
  /** Milliseconds to wait before rejecting with SDK_TIMEOUT. Default: no limit but the request's own expiry. */
  timeout?: number;
}

export class SiteClient {
  readonly baseUrl: string;
  readonly verifier: PassportVerifier;
  readonly #token: string;
  readonly #http: HttpClient;
  readonly #fetch: FetchLike;
  readonly #events: LoginEventConsumer;
  readonly #now: () => number;
  #siteId: string | undefined;
  #siteIdPending: Promise<string> | undefined;

  constructor(options: SiteClientOptions = {}) {
    const connection = resolveConnection("SiteClient", options, "siteToken", "LIME_SITE_TOKEN");
    ({ token: this.#token, fetch: this.#fetch, http: this.#http } = connection);
    this.baseUrl = this.#http.baseUrl;
    this.#now = options.now ?? Date.now;
    this.#siteId = options.siteId;
    // Checked here too (the verifier checks again) so a refusal names SiteClient's own options.
    const issuerUrl = options.issuer === undefined ? undefined : httpUrlOrUndefined(options.issuer);
    if (issuerUrl !== undefined) {
      requireSecureTransport(issuerUrl, "SiteClient: issuer", options.allowInsecureTransport);
    }
    if (options.jwksUrl !== undefined) {
      requireSecureTransport(new URL(options.jwksUrl), "SiteClient: jwksUrl", options.allowInsecureTransport);
    }
    this.verifier = new PassportVerifier({
      issuer: options.issuer ?? this.baseUrl,
      jwksUrl: options.jwksUrl,
      allowInsecureTransport: options.allowInsecureTransport,
      audience: SITE_LOGIN_AUDIENCE,
      clockToleranceSec: options.clockToleranceSec,
      fetch: this.#fetch,
      jwks: options.jwks,
      now: this.#now,
    });
    this.#events = new LoginEventConsumer(
      {
        openStream: (lastEventId, signal) => this.#openStream(lastEventId, signal),
        fetchState: (requestId, signal) => this.getLoginRequest(requestId, { signal }),
        verify: (jwt, requestId) => this.verifyPassport(jwt, { requestId }),
        now: this.#now,
        random: Math.random,
      },
      options.events,
    );
  }

  /**
   * `POST /api/v1/modules/agent-login/requests`: a new login request for an
   * agent to approve. Hand `requestId` to the agent. Not retried: each call
   * creates a request.
   *
   * @example
   * const { requestId } = await site.createLoginRequest();
   */
  async createLoginRequest(options: { signal?: AbortSignal } = {}): Promise<CreatedLoginRequest> {
    const data = await this.#http.send({
      method: "POST",
      path: "/api/v1/modules/agent-login/requests",
      headers: this.#siteHeaders(),
      body: {},
      idempotent: false,
      signal: options.signal,
    });
    const { siteId, ...created } = readCreated(data);
    if (siteId !== null) this.#siteId ??= siteId;
    this.#events.track(created.requestId, Date.parse(created.expiresAt));
    // A server that named no site in its answer: learn it now, while the
    // request is surely still pending (for the public-view fallback).
    if (this.#siteId === undefined) await this.siteId(created.requestId).catch(() => {});
    return created;
  }

  /**
   * `GET /api/v1/modules/agent-login/requests/{id}`: status, and the passport
   * while it is valid. Teaches the client its site id: the server shows a
   * request only to the site that owns it.
   */
  async getLoginRequest(
    requestId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<LoginRequestState> {
    const data = await this.#http.send({
      method: "GET",
      path: `/api/v1/modules/agent-login/requests/${encodePathId(requestId, "requestId")}`,
      headers: this.#siteHeaders(),
      idempotent: true,
      signal: options.signal,
    });
    const state = readRequestState(data);
    if (state.siteId !== null) this.#siteId ??= state.siteId;
    return state;
  }

  /**
   * Verifies a login passport locally: signature against the issuer's JWKS
   * (cached), issuer, audience "lime-site-login", lifetime, and binding to
   * `requestId` and to this site. No network call once the key set and the
   * site id are known; a client that does not know its site id yet learns it
   * from `requestId` when that request is this site's (any status), and
   * throws a TypeError saying to pass `siteId` when it is not.
   *
   * @example
   * const passport = await site.verifyPassport(jwtFromTheStream, { requestId });
   */
  async verifyPassport(
    token: string,
    options: { requestId: string; siteId?: string },
  ): Promise<PassportContext> {
    if (typeof options?.requestId !== "string" || options.requestId === "") {
      throw new TypeError("verifyPassport: requestId is required for a login passport");
    }
    const siteId = options.siteId ?? (await this.siteId(options.requestId));
    return this.verifier.verify(token, {
      audience: SITE_LOGIN_AUDIENCE,
      requestId: options.requestId,
      siteId,
    });
  }

  /**
   * Calls `handler` for every login outcome of this site (approved with the
   * verified passport, expired, or rejected with the reason). One stream
   * serves every handler and every `waitForLogin`. `onError` hears about
   * connection trouble (the consumer keeps reconnecting regardless) and
   * handler failures.
   *
   * @example
   * const sub = site.onLogin((outcome) => { if (outcome.type === "approved") signIn(outcome.passport) });
   * await sub.stop();
   */
  onLogin(handler: LoginHandler, options: { onError?: (error: Error) => void } = {}): LoginSubscription {
    return this.#events.subscribe(handler, options.onError);
  }

  /**
   * Resolves with the verified passport once an agent approved `requestId`;
   * rejects with SDK_LOGIN_EXPIRED, the verification error, SDK_TIMEOUT
   * after `timeout` ms, or SDK_ABORTED.
   *
   * @example
   * const passport = await site.waitForLogin(requestId, { timeout: 60_000 });
   */
  async waitForLogin(requestId: string, options: WaitForLoginOptions = {}): Promise<PassportContext> {
    if (typeof requestId !== "string" || requestId === "")
      throw new TypeError("waitForLogin: requestId is required");
    return this.#events.wait(requestId, { signal: options.signal, timeoutMs: options.timeout });
  }

  /** This site's id: configured, or learned once from `requestId` if the site token can read that request. */
  async siteId(requestId?: string): Promise<string> {
    if (this.#siteId !== undefined) return this.#siteId;
    if (requestId === undefined) throw new TypeError("siteId: unknown yet; pass siteId in the options");
    this.#siteIdPending ??= this.#learnSiteId(requestId).finally(() => {
      this.#siteIdPending = undefined;
    });
    return this.#siteIdPending;
  }

  /** Stops the event consumer (closing its stream); pending waits reject with SDK_STOPPED. */
  close(): Promise<void> {
    return this.#events.stop();
  }

  /** State of the event consumer, for health checks and tests. */
  get events(): { connected: boolean; lastEventId: string | undefined } {
    return { connected: this.#events.connected, lastEventId: this.#events.lastEventId };
  }

  async #learnSiteId(requestId: string): Promise<string> {
    let data: unknown;
    try {
      // Only a request the site token can read (other sites' are NOT_FOUND):
      // a request id handed in by a caller may be another site's, and
      // adopting that site's id would accept its login passports here.
      const state = await this.getLoginRequest(requestId);
      if (state.siteId !== null) return this.#siteId ?? state.siteId;
      // A server that does not name the site in its view: its public view
      // does, while the request is pending (it refuses answered ones).
      data = await this.#http.send({
        method: "GET",
        path: `/api/v1/auth/requests/${encodePathId(requestId, "requestId")}`,
        idempotent: true,
      });
    } catch (cause) {
      const code = (cause as { code?: unknown }).code;
      throw new TypeError(
        `SiteClient: this site's id is not known and could not be learned from request ${requestId} (${String(code ?? cause)}); pass siteId in the options`,
        { cause },
      );
    }
    const { site } = readRecord(data, "login challenge", {
      site: nested("site", { siteId: str("site_id") }),
    });
    this.#siteId ??= site.siteId;
    return this.#siteId;
  }

  #openStream(lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { ...this.#siteHeaders(), accept: "text/event-stream" };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    return this.#fetch(this.#http.url("/api/v1/modules/agent-login/events"), {
      method: "GET",
      headers,
      signal,
      redirect: "manual",
    });
  }

  #siteHeaders(): Record<string, string> {
    return { "x-site-token": this.#token };
  }
}
