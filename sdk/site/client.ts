/**
 * The site side of LIME's headless agent login: create login requests,
 * learn their outcomes (one background event-stream consumer, with polling
 * as the fallback), and verify the passports locally against the issuer's
 * JWKS. And of Agent Binding: create a binding request, read it, verify the
 * binding passport the browser brings back.
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
import { PassportError } from "@lime-ts/core/errors";
import {
  type BindingPassportContext,
  type PassportContext,
  SITE_LOGIN_AUDIENCE,
} from "@lime-ts/core/passport";
import { LimeApiError } from "../errors.ts";
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
  type RevocationHandler,
} from "./login-events.ts";
import type { RevocationOptions } from "./revocations.ts";
import { PassportVerifier } from "./verifier.ts";
import {
  type BindingRequestState,
  type CreatedBindingRequest,
  type CreatedLoginRequest,
  type LoginRequestState,
  readBindingState,
  readCreated,
  readCreatedBinding,
  readRequestState,
} from "./wire.ts";

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
  /** Refusing revoked passports: the polled list's options (docs/revocation.md). On by default. */
  revocation?: RevocationOptions;
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
      revocation: options.revocation,
      now: this.#now,
    });
    this.#events = new LoginEventConsumer(
      {
        openStream: (lastEventId, signal) => this.#openStream(lastEventId, signal),
        fetchState: (requestId, signal) => this.getLoginRequest(requestId, { signal }),
        verify: (jwt, requestId) => this.verifyPassport(jwt, { requestId }),
        revoked: (entry) => this.verifier.revocations?.learn(entry),
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
   * Calls `handler` for every `revoked` event of this site's stream (an
   * agent it has seen revoked or its token rotated, a binding it holds
   * revoked), after `verifier` has learned it: from then on the verifier
   * refuses what the event names (PASSPORT_REVOKED). The stream runs while
   * any subscription (this, `onLogin`, `waitForLogin`) is live, so a site
   * that wants revocations pushed keeps one; without, the verifier still
   * learns them from the polled list (docs/revocation.md).
   *
   * @example
   * const sub = site.onRevoked((entry) => { if (entry.kind === "agent") endSessionsOf(entry.agentId) });
   */
  onRevoked(
    handler: RevocationHandler,
    options: { onError?: (error: Error) => void } = {},
  ): LoginSubscription {
    return this.#events.subscribeRevocations(handler, options.onError);
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

  /**
   * `POST /api/v1/modules/bindings/requests`: Agent Binding. Keep
   * `bindingId` in the user's session, then redirect their browser to
   * `connectUrl` (as given). LIME sends the browser back to `redirectUri`
   * (https, or http on loopback, on the site's registered origin) with
   * `?passport=<JWT>&binding_id=<id>`, or `?error=access_denied&binding_id=<id>`.
   * Not retried: each call creates a request.
   *
   * @example
   * const { bindingId, connectUrl } = await site.createBindingRequest({ redirectUri: "https://shop.example/lime/callback" });
   */
  async createBindingRequest(options: {
    redirectUri: string;
    signal?: AbortSignal;
  }): Promise<CreatedBindingRequest> {
    if (typeof options?.redirectUri !== "string" || options.redirectUri === "") {
      throw new TypeError("createBindingRequest: redirectUri is required");
    }
    const data = await this.#http.send({
      method: "POST",
      path: "/api/v1/modules/bindings/requests",
      headers: this.#siteHeaders(),
      body: { redirect_uri: options.redirectUri },
      idempotent: false,
      signal: options.signal,
    });
    const { siteId, ...created } = readCreatedBinding(data);
    if (siteId !== null) this.#siteId ??= siteId;
    return created;
  }

  /**
   * `GET /api/v1/modules/bindings/requests/{id}`: the request's status, the
   * agent once completed, REVOKED once the owner ends the binding (or the
   * agent is revoked). Another site's request is BINDING_NOT_FOUND.
   */
  async getBindingRequest(
    bindingId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<BindingRequestState> {
    const data = await this.#http.send({
      method: "GET",
      path: `/api/v1/modules/bindings/requests/${encodePathId(bindingId, "bindingId")}`,
      headers: this.#siteHeaders(),
      idempotent: true,
      signal: options.signal,
    });
    const state = readBindingState(data);
    if (state.siteId !== null) this.#siteId ??= state.siteId;
    return state;
  }

  /**
   * Verifies the binding passport from the callback's `?passport=` locally:
   * signature against the issuer's JWKS (cached), `typ` binding+jwt, issuer,
   * `aud` "lime-binding", at most 60 s, the binding claims, and that it is
   * for this site (`site_id`); with `bindingId`, that it completes that
   * request (PASSPORT_WRONG_BINDING). LIME's SDK checks less (no issuer, no
   * site). Throws the core's `PassportError` or SDK_JWKS_UNAVAILABLE.
   *
   * Pass the `bindingId` kept in the user's session: a passport that
   * arrives in another browser session (someone forwarded the connect URL)
   * must not bind that session's account.
   *
   * A client that does not know its site id yet learns it from the
   * passport's binding, which the server shows only to its own site: another
   * site's binding is PASSPORT_WRONG_SITE.
   *
   * @example
   * const binding = await site.verifyBindingPassport(query.passport, { bindingId: session.bindingId });
   * binding.agentId; binding.ownerKycLevel;
   */
  async verifyBindingPassport(
    token: string,
    options: { bindingId?: string; siteId?: string } = {},
  ): Promise<BindingPassportContext> {
    const known = options.siteId ?? this.#siteId;
    const verified = await this.verifier.verifyBinding(token, {
      bindingId: options.bindingId,
      siteId: known,
    });
    if (known !== undefined) return verified;
    // Only a genuine passport of this issuer gets this far, so a forged token never causes a request.
    const siteId = await this.#siteIdFromBinding(verified.bindingId);
    if (verified.siteId !== siteId) {
      throw new PassportError("PASSPORT_WRONG_SITE", "the passport's site_id is not this site's");
    }
    return verified;
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

  /** This site's id from one of its binding requests; another site's binding is PASSPORT_WRONG_SITE. */
  async #siteIdFromBinding(bindingId: string): Promise<string> {
    let state: BindingRequestState;
    try {
      state = await this.getBindingRequest(bindingId);
    } catch (cause) {
      if (cause instanceof LimeApiError && cause.code === "BINDING_NOT_FOUND") {
        throw new PassportError("PASSPORT_WRONG_SITE", "the passport's binding is not this site's", {
          cause,
        });
      }
      const code = (cause as { code?: unknown }).code;
      throw new TypeError(
        `SiteClient: this site's id is not known and could not be learned from binding ${bindingId} (${String(code ?? cause)}); pass siteId in the options`,
        { cause },
      );
    }
    if (state.siteId === null) {
      throw new TypeError(
        "SiteClient: the server does not name the site of a binding; pass siteId in the options",
      );
    }
    this.#siteId ??= state.siteId;
    return state.siteId;
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
