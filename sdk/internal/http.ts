/**
 * The one place the SDKs talk HTTP to a LIME server: base URL joining, the
 * response envelope (`{ok, data}` / `{ok, error: {code, message, detail}}`),
 * typed errors, per-attempt timeouts and retries.
 *
 * Retries happen only for calls marked `idempotent` (sending them twice
 * cannot do harm), on network errors, timeouts, 408, 429 and 5xx. A call
 * that changes state once (approving a login, creating a request) is never
 * repeated behind the caller's back: its 429 surfaces as a `LimeApiError`
 * carrying `retryAfterMs`.
 *
 * Redirects are not followed: the calls carry agent and site tokens in
 * custom headers, which fetch would forward to whatever origin a redirect
 * names. A plain `http:` base URL off loopback is refused unless
 * `allowInsecureTransport` (see `loopback.ts`). Bodies over 1 MiB are
 * refused unread (see `body.ts`).
 */
import { LimeApiError, LimeSdkError } from "../errors.ts";
import { MAX_RESPONSE_BYTES, readTextLimited } from "./body.ts";
import { requireSecureTransport } from "./loopback.ts";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
} from "./retry.ts";
import { abortError, linkSignals, sleep } from "./signals.ts";

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The global fetch, looked up at each call (so a fetch installed later, by a polyfill or a test, is used). */
export const globalFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

export interface HttpClientOptions {
  baseUrl: string;
  /** How errors name the base URL setting, e.g. "AgentClient: baseUrl". Default "baseUrl". */
  label?: string;
  /** Accept a plain `http:` base URL off loopback (tokens in clear). Development only. */
  allowInsecureTransport?: boolean;
  /** Transport; defaults to the global `fetch`. Tests and proxies inject their own. */
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt deadline, headers and body included. Default 30 s. */
  timeoutMs?: number;
  /** Randomness for the jitter; tests pin it. */
  random?: () => number;
  /** The wait between attempts; tests record it instead of sleeping. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path under the base URL, starting with `/`; ids inside it must be encoded by the caller. */
  path: string;
  headers?: Record<string, string>;
  /**
   * Headers made afresh for each attempt: a proof of possession (`DPoP`) is
   * single-use, so a retry must not resend the first attempt's.
   */
  headersPerAttempt?: () => Promise<Record<string, string>>;
  /** Sent as JSON when present. */
  body?: unknown;
  signal?: AbortSignal;
  /** True when sending the call twice cannot do harm; only those are retried. */
  idempotent: boolean;
  /**
   * "envelope" (default): `{ok, data}` is unwrapped. "json": the body is the
   * answer itself (the OAuth token endpoint speaks RFC 6749, not the envelope).
   */
  shape?: "envelope" | "json";
}

/** Validates and normalises a base URL: http(s), no query or fragment, no trailing slash. */
export function normalizeBaseUrl(value: unknown, label: string): string {
  if (typeof value !== "string" || value === "")
    throw new TypeError(`${label} must be a non-empty URL string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${label} is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`${label} must be http(s)`);
  if (url.search !== "" || url.hash !== "")
    throw new TypeError(`${label} must not carry a query or fragment`);
  return url.href.replace(/\/+$/, "");
}

/**
 * A path segment from an id the caller gave (a request id), checked and
 * percent-encoded. "." and ".." are refused: `encodeURIComponent` keeps
 * them, and URL parsing would resolve them as dot segments, moving the
 * call (and its token) to another path.
 */
export function encodePathId(value: unknown, label: string): string {
  if (typeof value !== "string" || value === "" || value.length > 256) {
    throw new TypeError(`${label} must be a non-empty string of at most 256 characters`);
  }
  if (value === "." || value === "..") throw new TypeError(`${label} must not be a dot segment`);
  return encodeURIComponent(value);
}

export class HttpClient {
  readonly baseUrl: string;
  readonly #fetch: FetchLike;
  readonly #policy: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: HttpClientOptions) {
    const label = options.label ?? "baseUrl";
    this.baseUrl = normalizeBaseUrl(options.baseUrl, label);
    requireSecureTransport(new URL(this.baseUrl), label, options.allowInsecureTransport);
    this.#fetch = options.fetch ?? globalFetch;
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? sleep;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Sends one call (with retries when idempotent) and returns the envelope's `data`. */
  async send<T>(spec: RequestSpec): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return (await this.#attempt(spec)) as T;
      } catch (error) {
        if (spec.signal?.aborted) throw abortError(spec.signal);
        const delay = this.#retryDelay(spec, error, retry);
        if (delay === undefined) throw error;
        await this.#sleep(delay, spec.signal);
      }
    }
  }

  /** The wait before the next attempt, or `undefined` when the error goes to the caller. */
  #retryDelay(spec: RequestSpec, error: unknown, retry: number): number | undefined {
    if (!spec.idempotent || retry >= this.#policy.retries) return undefined;
    if (error instanceof LimeApiError) {
      if (!isRetryableStatus(error.status)) return undefined;
      if (error.retryAfterMs !== undefined) {
        return error.retryAfterMs <= this.#policy.maxRetryAfterMs ? error.retryAfterMs : undefined;
      }
      return backoffDelay(retry, this.#policy, this.#random);
    }
    if (
      error instanceof LimeSdkError &&
      (error.code === "SDK_NETWORK_ERROR" || error.code === "SDK_TIMEOUT")
    ) {
      return backoffDelay(retry, this.#policy, this.#random);
    }
    return undefined;
  }

  async #attempt(spec: RequestSpec): Promise<unknown> {
    const fresh = spec.headersPerAttempt === undefined ? {} : await spec.headersPerAttempt();
    const linked = linkSignals([spec.signal], this.#timeoutMs);
    const headers: Record<string, string> = { accept: "application/json", ...spec.headers, ...fresh };
    const init: RequestInit = { method: spec.method, headers, signal: linked.signal, redirect: "manual" };
    if (spec.body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(spec.body);
    }
    try {
      let response: Response;
      try {
        response = await this.#fetch(this.url(spec.path), init);
      } catch (cause) {
        throw transportError(cause, linked.signal, `${spec.method} ${spec.path}`);
      }
      return await readEnvelope(
        response,
        linked.signal,
        `${spec.method} ${spec.path}`,
        spec.shape ?? "envelope",
      );
    } finally {
      linked.dispose();
    }
  }
}

/** Maps a fetch/body-read rejection to a typed error: timeout, abort, or network. */
export function transportError(cause: unknown, signal: AbortSignal, what: string): Error {
  if (cause instanceof LimeSdkError || cause instanceof LimeApiError) return cause;
  if (signal.aborted) return abortError(signal);
  return new LimeSdkError("SDK_NETWORK_ERROR", `${what}: the server could not be reached`, { cause });
}

/**
 * Reads a response as the LIME envelope. Success returns `data` (or
 * `undefined` for 204); failure throws `LimeApiError` with the server's code.
 * With `shape: "json"` a success body is returned whole (a JSON object).
 */
export async function readEnvelope(
  response: Response,
  signal: AbortSignal,
  what: string,
  shape: "envelope" | "json" = "envelope",
): Promise<unknown> {
  if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
    await response.body?.cancel().catch(() => {});
    throw new LimeSdkError(
      "SDK_INVALID_RESPONSE",
      `${what}: the server answered with a redirect, not followed`,
      {
        detail: { status: response.status },
      },
    );
  }
  if (response.status === 204) return undefined;
  let text: string;
  try {
    text = await readTextLimited(response, MAX_RESPONSE_BYTES, what);
  } catch (cause) {
    throw transportError(cause, signal, what);
  }
  const parsed = parseJson(text);
  if (!response.ok) throw apiErrorFrom(response, parsed, what);
  if (shape === "json") {
    if (!isRecord(parsed)) {
      throw new LimeSdkError("SDK_INVALID_RESPONSE", `${what}: the response is not a JSON object`, {
        detail: { status: response.status },
      });
    }
    return parsed;
  }
  if (!isRecord(parsed) || parsed.ok !== true || !("data" in parsed)) {
    throw new LimeSdkError("SDK_INVALID_RESPONSE", `${what}: the response is not a LIME envelope`, {
      detail: { status: response.status },
    });
  }
  return parsed.data;
}

/**
 * Builds the typed error for a non-2xx response whose body has already been
 * parsed (or not): the envelope's code, else an RFC 6749 §5.2 OAuth error
 * (`{error, error_description}`, code kept verbatim, e.g. "invalid_grant"),
 * else HTTP_ERROR.
 */
export function apiErrorFrom(response: Response, parsed: unknown, what: string): LimeApiError {
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  const error = isRecord(parsed) && parsed.ok === false && isRecord(parsed.error) ? parsed.error : undefined;
  if (error && typeof error.code === "string" && error.code !== "") {
    const message = typeof error.message === "string" && error.message !== "" ? error.message : error.code;
    const detail = isRecord(error.detail) ? error.detail : {};
    return new LimeApiError(error.code, message, response.status, detail, retryAfterMs);
  }
  if (isRecord(parsed) && typeof parsed.error === "string" && /^[\x20-\x7e]{1,64}$/.test(parsed.error)) {
    const description =
      typeof parsed.error_description === "string" ? parsed.error_description : parsed.error;
    const detail = { error_description: description };
    return new LimeApiError(parsed.error, description, response.status, detail, retryAfterMs);
  }
  return new LimeApiError(
    "HTTP_ERROR",
    `${what}: HTTP ${response.status}`,
    response.status,
    {},
    retryAfterMs,
  );
}

/** Reads the body of an error response and builds its typed error; for callers that bypass `send`. */
export async function apiErrorFromResponse(response: Response, what: string): Promise<LimeApiError> {
  const text = await readTextLimited(response, MAX_RESPONSE_BYTES, what).catch(() => "");
  return apiErrorFrom(response, parseJson(text), what);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
