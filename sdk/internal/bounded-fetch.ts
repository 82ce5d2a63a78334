/**
 * The one way the site SDK fetches a document from the issuer (the JWKS,
 * the revocation list, an agent's key directory): a GET that cannot be
 * turned against the site. No redirect is followed (a key URL that
 * redirects is misconfigured or hijacked), every fetch has a deadline, the
 * body is read with a byte ceiling (`body.ts`), and a refresh is
 * conditional (`If-None-Match`; 304 keeps what the caller holds, RFC 9110
 * §13.1.2). Freshness comes from `Cache-Control: max-age` minus `Age`
 * (RFC 9111 §4.2), clamped by the caller's bounds.
 */
import { LimeSdkError } from "../errors.ts";
import { readTextLimited } from "./body.ts";
import type { FetchLike } from "./http.ts";
import { linkSignals } from "./signals.ts";

export interface BoundedFetchOptions {
  fetch: FetchLike;
  url: string;
  /** The `Accept` header. */
  accept: string;
  /** The validator of what the caller holds; sent as `If-None-Match`. */
  etag?: string;
  timeoutMs: number;
  maxBytes: number;
  /** Names the document in errors, e.g. "JWKS fetch". */
  what: string;
  /**
   * Statuses whose body the caller reads, besides 200 (e.g. 404 for "no
   * such agent"). Anything else is SDK_INVALID_RESPONSE, body unread.
   */
  alsoRead?: readonly number[];
}

export type BoundedFetchResult =
  | { notModified: true; etag: string | undefined; headers: Headers }
  | { notModified: false; status: number; text: string; etag: string | undefined; headers: Headers };

/**
 * One bounded, conditional GET. A 304 counts only when the caller sent a
 * validator; the body of any other status is cancelled unread.
 *
 * @example
 * const answer = await boundedFetch({ fetch, url, accept: "application/json", etag, timeoutMs: 5_000, maxBytes: 512 * 1024, what: "JWKS fetch" });
 * if (!answer.notModified) parse(answer.text);
 */
export async function boundedFetch(options: BoundedFetchOptions): Promise<BoundedFetchResult> {
  const headers: Record<string, string> = { accept: options.accept };
  if (options.etag) headers["if-none-match"] = options.etag;
  const linked = linkSignals([], options.timeoutMs);
  try {
    const response = await options.fetch(options.url, {
      method: "GET",
      headers,
      redirect: "manual",
      signal: linked.signal,
    });
    const etag = response.headers.get("etag") ?? undefined;
    if (response.status === 304 && options.etag) {
      await response.body?.cancel().catch(() => {});
      return { notModified: true, etag: etag ?? options.etag, headers: response.headers };
    }
    if (response.status !== 200 && !options.alsoRead?.includes(response.status)) {
      await response.body?.cancel().catch(() => {});
      throw new LimeSdkError("SDK_INVALID_RESPONSE", `${options.what} answered HTTP ${response.status}`);
    }
    const text = await readTextLimited(response, options.maxBytes, options.what);
    return { notModified: false, status: response.status, text, etag, headers: response.headers };
  } finally {
    linked.dispose();
  }
}

/** Freshness in ms from `Cache-Control` max-age minus `Age`, clamped to [min, max]; `fallbackMs` when it says nothing. */
export function freshnessMs(
  headers: Headers,
  bounds: { fallbackMs: number; minMs: number; maxMs: number },
): number {
  const maxAge = parseMaxAge(headers.get("cache-control"));
  if (maxAge === undefined) return clamp(bounds.fallbackMs, bounds.minMs, bounds.maxMs);
  const age = Number(headers.get("age") ?? "0");
  const seconds = maxAge - (Number.isFinite(age) && age > 0 ? age : 0);
  return clamp(seconds * 1000, bounds.minMs, bounds.maxMs);
}

/**
 * `max-age` of a Cache-Control header (RFC 9111 §5.2.2.1), 0 for
 * `no-store`/`no-cache`, `undefined` when it says nothing about freshness.
 */
export function parseMaxAge(value: string | null): number | undefined {
  if (value === null) return undefined;
  let maxAge: number | undefined;
  for (const part of value.split(",")) {
    const [rawName, rawValue] = part.split("=", 2);
    const name = rawName?.trim().toLowerCase();
    if (name === "no-store" || name === "no-cache") return 0;
    if (name === "max-age" && rawValue !== undefined) {
      const digits = rawValue.trim().replace(/^"(.*)"$/, "$1");
      if (/^\d+$/.test(digits)) maxAge = Number(digits);
    }
  }
  return maxAge;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** A tuning option checked once at construction: a finite number >= 0, else RangeError naming it. */
export function nonNegative(value: number, label: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${label} must be a finite number >= 0`);
  return value;
}
