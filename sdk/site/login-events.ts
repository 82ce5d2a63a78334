/**
 * The one background consumer of a site's login outcomes.
 *
 * It holds a single `text/event-stream` connection to
 * `GET /api/v1/modules/agent-login/events` while anyone listens (an
 * `onLogin` handler or a `waitForLogin` call) and closes it when the last
 * one leaves. Each outcome is dispatched once, however it arrived:
 * - approved: the passport is verified locally first; a passport that fails
 *   verification is dispatched as `rejected` with the core's error;
 * - expired;
 * - revoked (an agent, an agent's token or a binding; docs/revocation.md):
 *   handed to the verifier, which refuses what it names from then on, and
 *   to `onRevoked` handlers.
 *
 * Resilience, because a login must not be lost to a flaky connection:
 * - reconnects forever with capped exponential backoff (equal jitter, so
 *   never a zero delay) and never sooner than the server's `retry:`;
 *   a 429's `Retry-After` is honoured;
 * - resumes with `Last-Event-ID`, so outcomes sent while it was away are
 *   replayed by the server (an id that cannot be sent back is ignored);
 * - a stream silent for longer than `heartbeatTimeoutMs` (the server sends
 *   keepalives) is treated as dead and replaced: half-open TCP connections
 *   otherwise hang forever;
 * - while disconnected, polls the status of the requests it knows about
 *   (the status endpoint returns the passport to the owning site), and a
 *   new `waitForLogin` checks its request's status at once, so an outcome
 *   reached before anyone listened is not missed.
 * The only thing that stops it besides `stop()` is a site token the server
 * does not know (SITE_TOKEN_MISSING / SITE_TOKEN_INVALID): retrying a dead
 * credential forever helps nobody; SITE_SUSPENDED is retried, since a
 * suspension can be lifted. The server names the reason when it ends an open
 * stream, in an error frame (`{"type": "error", "code", "message"}`): the
 * frame becomes a `LimeApiError` with that code (status 200, `detail.source:
 * "event_stream"`), reported to `onError`; a revoked token's stops the
 * consumer as above, any other (SITE_SUSPENDED, SSE_SLOW_CONSUMER,
 * SERVER_SHUTDOWN, ...) reconnects with the usual backoff.
 */
import type { PassportContext } from "@lime-ts/core/passport";
import { LimeApiError, LimeSdkError } from "../errors.ts";
import { apiErrorFromResponse } from "../internal/http.ts";
import { abortError, linkSignals, sleep } from "../internal/signals.ts";
import { EventStreamParser, readEventStream } from "../internal/sse.ts";
import type { RevocationEntry } from "./revocations.ts";
import { type LoginRequestState, readStreamEvent, type StreamEvent } from "./wire.ts";

export type RevocationHandler = (entry: RevocationEntry) => void | Promise<void>;

export type LoginOutcome =
  | {
      type: "approved";
      requestId: string;
      /** The verified passport. */
      passport: PassportContext;
      /** The passport as received, for a site that forwards it. */
      passportJwt: string;
      redirectUrl: string | null;
      via: "stream" | "poll";
    }
  | { type: "expired"; requestId: string; via: "stream" | "poll" }
  /** The outcome could not be accepted: the passport failed verification, or the request is gone. */
  | { type: "rejected"; requestId: string; error: Error; via: "stream" | "poll" };

export type LoginHandler = (outcome: LoginOutcome) => void | Promise<void>;

export interface LoginEventsOptions {
  /** Reconnect the stream when nothing (not even a keepalive) arrived for this long. Default 45 s. */
  heartbeatTimeoutMs?: number;
  /** First reconnect delay ceiling; doubles per failure. Default 500 ms. */
  reconnectBaseMs?: number;
  /** Reconnect delay cap. Default 30 s. */
  reconnectMaxMs?: number;
  /** Status polling period while the stream is down. Default 2 s. */
  pollIntervalMs?: number;
  /** Most requests polled per round (the newest). Default 20. */
  maxPolledPerRound?: number;
}

export interface LoginEventsDeps {
  /** Opens the stream (sending `Last-Event-ID` when given); the raw response. */
  openStream(lastEventId: string | undefined, signal: AbortSignal): Promise<Response>;
  fetchState(requestId: string, signal: AbortSignal): Promise<LoginRequestState>;
  verify(passportJwt: string, requestId: string): Promise<PassportContext>;
  /** A `revoked` event arrived: the verifier refuses what it names from now on. */
  revoked?(entry: RevocationEntry): void;
  now: () => number;
  random: () => number;
}

/** A live subscription; `stop()` unsubscribes and, if it was the last listener, closes the stream. */
export interface LoginSubscription {
  stop(): Promise<void>;
}

interface Waiter {
  resolve(passport: PassportContext): void;
  reject(error: Error): void;
}

const FATAL_CODES = new Set(["SITE_TOKEN_MISSING", "SITE_TOKEN_INVALID"]);
const MAX_REMEMBERED_OUTCOMES = 1000;
const MAX_TRACKED_REQUESTS = 10_000;
/** Requests are forgotten this long after their expiry if no outcome ever came. */
const TRACK_GRACE_MS = 5 * 60_000;

export class LoginEventConsumer {
  readonly #deps: LoginEventsDeps;
  readonly #heartbeatTimeoutMs: number;
  readonly #reconnectBaseMs: number;
  readonly #reconnectMaxMs: number;
  readonly #pollIntervalMs: number;
  readonly #maxPolledPerRound: number;
  readonly #handlers = new Map<LoginHandler, ((error: Error) => void) | undefined>();
  readonly #revocationHandlers = new Map<RevocationHandler, ((error: Error) => void) | undefined>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** requestId → forget-after (epoch ms). Insertion order is creation order. */
  readonly #tracked = new Map<string, number>();
  readonly #outcomes = new Map<string, LoginOutcome>();
  #run: { controller: AbortController; done: Promise<void> } | undefined;
  #connected = false;
  #lastEventId: string | undefined;
  #serverRetryMs = 0;

  constructor(deps: LoginEventsDeps, options: LoginEventsOptions = {}) {
    this.#deps = deps;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 45_000;
    this.#reconnectBaseMs = options.reconnectBaseMs ?? 500;
    this.#reconnectMaxMs = options.reconnectMaxMs ?? 30_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.#maxPolledPerRound = options.maxPolledPerRound ?? 20;
  }

  /** True while the stream is open. */
  get connected(): boolean {
    return this.#connected;
  }

  /** The id of the last event received, sent as `Last-Event-ID` on reconnect. */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** Remembers a request so its status is polled while the stream is down. */
  track(requestId: string, expiresAtMs: number): void {
    if (this.#outcomes.has(requestId)) return;
    this.#tracked.delete(requestId);
    this.#tracked.set(requestId, expiresAtMs + TRACK_GRACE_MS);
    while (this.#tracked.size > MAX_TRACKED_REQUESTS)
      this.#tracked.delete(this.#tracked.keys().next().value!);
  }

  subscribe(handler: LoginHandler, onError?: (error: Error) => void): LoginSubscription {
    if (typeof handler !== "function") throw new TypeError("onLogin: handler must be a function");
    this.#handlers.set(handler, onError);
    this.#ensureRunning();
    return {
      stop: async () => {
        this.#handlers.delete(handler);
        await this.#stopIfIdle();
      },
    };
  }

  /** Calls `handler` with every `revoked` event; keeps the stream open like `subscribe`. */
  subscribeRevocations(handler: RevocationHandler, onError?: (error: Error) => void): LoginSubscription {
    if (typeof handler !== "function") throw new TypeError("onRevoked: handler must be a function");
    this.#revocationHandlers.set(handler, onError);
    this.#ensureRunning();
    return {
      stop: async () => {
        this.#revocationHandlers.delete(handler);
        await this.#stopIfIdle();
      },
    };
  }

  /** Resolves with the verified passport of `requestId`'s approval; rejects on expiry, refusal, timeout, abort. */
  wait(
    requestId: string,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<PassportContext> {
    const known = this.#outcomes.get(requestId);
    if (known) return settleWaiter(known);
    return new Promise<PassportContext>((resolve, reject) => {
      const linked = linkSignals([options.signal], options.timeoutMs);
      const finish = () => {
        linked.dispose();
        linked.signal.removeEventListener("abort", onAbort);
        const set = this.#waiters.get(requestId);
        set?.delete(waiter);
        if (set?.size === 0) this.#waiters.delete(requestId);
        void this.#stopIfIdle();
      };
      const waiter: Waiter = {
        resolve: (passport) => {
          finish();
          resolve(passport);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      const onAbort = () => waiter.reject(abortError(linked.signal));
      if (linked.signal.aborted) {
        linked.dispose();
        reject(abortError(linked.signal));
        return;
      }
      linked.signal.addEventListener("abort", onAbort, { once: true });
      const set = this.#waiters.get(requestId) ?? new Set<Waiter>();
      set.add(waiter);
      this.#waiters.set(requestId, set);
      if (!this.#tracked.has(requestId)) this.track(requestId, this.#deps.now() + 10 * 60_000);
      this.#ensureRunning();
      // The outcome may predate this call (approved before anyone listened).
      void this.#poll(requestId, this.#run!.controller.signal);
    });
  }

  /** Closes the stream and rejects pending waits with SDK_STOPPED. */
  async stop(): Promise<void> {
    const run = this.#run;
    this.#run = undefined;
    this.#connected = false;
    const stopped = new LimeSdkError("SDK_STOPPED", "the login event consumer was stopped");
    for (const waiters of [...this.#waiters.values()])
      for (const waiter of [...waiters]) waiter.reject(stopped);
    if (!run) return;
    run.controller.abort(stopped);
    await run.done;
  }

  #ensureRunning(): void {
    if (this.#run) return;
    const controller = new AbortController();
    const done = Promise.all([this.#streamLoop(controller.signal), this.#pollLoop(controller.signal)]).then(
      () => {},
    );
    this.#run = { controller, done };
  }

  async #stopIfIdle(): Promise<void> {
    if (this.#handlers.size === 0 && this.#revocationHandlers.size === 0 && this.#waiters.size === 0) {
      await this.stop();
    }
  }

  async #streamLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let progressed = false;
      let retryAfterMs: number | undefined;
      try {
        await this.#readStream(signal, () => {
          progressed = true;
        });
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof LimeApiError) {
          if (FATAL_CODES.has(error.code)) {
            this.#fatal(error);
            break;
          }
          retryAfterMs = error.retryAfterMs;
        }
        this.#report(error as Error);
      }
      this.#connected = false;
      if (signal.aborted) break;
      failures = progressed ? 0 : failures + 1;
      await sleep(this.#reconnectDelay(failures, retryAfterMs), signal).catch(() => {});
    }
    this.#connected = false;
  }

  /** Equal jitter: half the ceiling fixed, half random; never below the server's `retry:`. */
  #reconnectDelay(failures: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.#reconnectMaxMs * 10);
    const ceiling = Math.min(this.#reconnectMaxMs, this.#reconnectBaseMs * 2 ** Math.max(0, failures));
    return Math.max(this.#serverRetryMs, ceiling / 2 + this.#deps.random() * (ceiling / 2));
  }

  async #readStream(signal: AbortSignal, onProgress: () => void): Promise<void> {
    const attempt = new AbortController();
    const linked = linkSignals([signal, attempt.signal]);
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(
        () =>
          attempt.abort(
            new LimeSdkError(
              "SDK_TIMEOUT",
              `no event or keepalive for ${this.#heartbeatTimeoutMs} ms; reconnecting`,
            ),
          ),
        this.#heartbeatTimeoutMs,
      );
    };
    try {
      arm();
      let response: Response;
      try {
        response = await this.#deps.openStream(this.#lastEventId, linked.signal);
      } catch (cause) {
        if (linked.signal.aborted) throw abortError(linked.signal);
        throw new LimeSdkError("SDK_NETWORK_ERROR", "the event stream could not be opened", { cause });
      }
      if (response.status !== 200) throw await apiErrorFromResponse(response, "event stream");
      const type = response.headers.get("content-type") ?? "";
      if (!type.toLowerCase().startsWith("text/event-stream") || response.body === null) {
        await response.body?.cancel().catch(() => {});
        throw new LimeSdkError("SDK_INVALID_RESPONSE", "the event stream answered with something else");
      }
      this.#connected = true;
      await this.#consume(response.body, linked.signal, () => {
        arm();
        onProgress();
      });
      throw new LimeSdkError("SDK_NETWORK_ERROR", "the event stream ended");
    } catch (error) {
      if (linked.signal.aborted) throw abortError(linked.signal);
      throw error;
    } finally {
      clearTimeout(watchdog);
      linked.dispose();
      this.#connected = false;
    }
  }

  async #consume(body: ReadableStream<Uint8Array>, signal: AbortSignal, onChunk: () => void): Promise<void> {
    const parser = new EventStreamParser();
    const chunkArrived = () => {
      onChunk();
      if (parser.retryMs !== undefined) this.#serverRetryMs = Math.min(parser.retryMs, this.#reconnectMaxMs);
    };
    for await (const event of readEventStream(body, { parser, signal, onChunk: chunkArrived })) {
      const parsed = readStreamEvent(event.data);
      if (parsed === undefined) {
        this.#report(new LimeSdkError("SDK_INVALID_RESPONSE", "an event of the stream is not the protocol"));
      } else if (parsed.type === "error") {
        // The server is ending this stream; the stream loop decides between stopping and reconnecting.
        throw new LimeApiError(parsed.code, parsed.message, 200, { source: "event_stream" });
      } else {
        await this.#onStreamEvent(parsed);
      }
      if (isSendableEventId(event.lastEventId)) this.#lastEventId = event.lastEventId;
    }
  }

  async #onStreamEvent(event: StreamEvent): Promise<void> {
    if (event.type === "approved")
      await this.#approved(event.requestId, event.passportJwt, event.redirectUrl, "stream");
    else if (event.type === "expired")
      this.#settle({ type: "expired", requestId: event.requestId, via: "stream" });
    else if (event.type === "revoked") this.#revoked(event.entry);
  }

  /** The verifier learns it first, so a passport checked by a handler is already refused. */
  #revoked(entry: RevocationEntry): void {
    this.#deps.revoked?.(entry);
    for (const [handler, onError] of this.#revocationHandlers) {
      try {
        Promise.resolve(handler(entry)).catch((error: unknown) => onError?.(error as Error));
      } catch (error) {
        onError?.(error as Error);
      }
    }
  }

  async #approved(
    requestId: string,
    jwt: string,
    redirectUrl: string | null,
    via: "stream" | "poll",
  ): Promise<void> {
    if (this.#outcomes.has(requestId)) return;
    try {
      const passport = await this.#deps.verify(jwt, requestId);
      this.#settle({ type: "approved", requestId, passport, passportJwt: jwt, redirectUrl, via });
    } catch (error) {
      this.#settle({ type: "rejected", requestId, error: error as Error, via });
    }
  }

  async #pollLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#pollIntervalMs, signal).catch(() => {});
      if (signal.aborted || this.#connected) continue;
      const now = this.#deps.now();
      for (const [id, forgetAt] of this.#tracked) if (forgetAt < now) this.#tracked.delete(id);
      const newest = [...this.#tracked.keys()].slice(-this.#maxPolledPerRound);
      await Promise.all(newest.map((id) => this.#poll(id, signal)));
    }
  }

  /** Asks for one request's status and settles it when the answer is an outcome. */
  async #poll(requestId: string, signal: AbortSignal): Promise<void> {
    if (this.#outcomes.has(requestId)) return;
    let state: LoginRequestState;
    try {
      state = await this.#deps.fetchState(requestId, signal);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof LimeApiError && error.code === "SITE_LOGIN_REQUEST_NOT_FOUND") {
        this.#settle({ type: "rejected", requestId, error, via: "poll" });
      } else if (error instanceof LimeApiError && FATAL_CODES.has(error.code)) {
        this.#fatal(error);
      }
      return;
    }
    if (state.status === "EXPIRED") {
      this.#settle({ type: "expired", requestId, via: "poll" });
    } else if ((state.status === "APPROVED" || state.status === "DELIVERED") && state.passportJwt !== null) {
      await this.#approved(requestId, state.passportJwt, null, "poll");
    } else if (state.status === "DELIVERED") {
      // Delivered to some stream earlier and its passport is gone: nothing left to finish with.
      const error = new LimeSdkError(
        "SDK_LOGIN_NOT_PENDING",
        "the login was delivered and its passport has expired",
        {
          detail: { status: state.status },
        },
      );
      this.#settle({ type: "rejected", requestId, error, via: "poll" });
    }
  }

  #settle(outcome: LoginOutcome): void {
    if (this.#outcomes.has(outcome.requestId)) return;
    this.#outcomes.set(outcome.requestId, outcome);
    if (this.#outcomes.size > MAX_REMEMBERED_OUTCOMES)
      this.#outcomes.delete(this.#outcomes.keys().next().value!);
    this.#tracked.delete(outcome.requestId);
    for (const [handler, onError] of this.#handlers) {
      try {
        Promise.resolve(handler(outcome)).catch((error: unknown) => onError?.(error as Error));
      } catch (error) {
        onError?.(error as Error);
      }
    }
    const waiters = this.#waiters.get(outcome.requestId);
    if (!waiters) return;
    for (const waiter of [...waiters]) {
      settleWaiter(outcome).then(waiter.resolve, waiter.reject);
    }
  }

  #report(error: Error): void {
    for (const onError of this.#handlers.values()) onError?.(error);
    for (const onError of this.#revocationHandlers.values()) onError?.(error);
  }

  /** A dead site token: tell everyone, stop. A later subscription starts afresh. */
  #fatal(error: LimeApiError): void {
    this.#report(error);
    for (const waiters of [...this.#waiters.values()])
      for (const waiter of [...waiters]) waiter.reject(error);
    const run = this.#run;
    this.#run = undefined;
    run?.controller.abort(error);
  }
}

/**
 * An id we can send back as `Last-Event-ID`: short printable ASCII. Any
 * other (a character fetch refuses in a header, or one so long the server
 * answers 431) would fail every reconnect; it is ignored and the last good
 * id is resent instead.
 */
function isSendableEventId(id: string): boolean {
  return /^[\x20-\x7e]{1,1024}$/.test(id);
}

function settleWaiter(outcome: LoginOutcome): Promise<PassportContext> {
  switch (outcome.type) {
    case "approved":
      return Promise.resolve(outcome.passport);
    case "expired":
      return Promise.reject(
        new LimeSdkError("SDK_LOGIN_EXPIRED", "the login request expired before an approval"),
      );
    case "rejected":
      return Promise.reject(outcome.error);
  }
}
