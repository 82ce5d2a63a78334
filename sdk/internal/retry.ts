/**
 * When to try again, and how long to wait.
 *
 * Backoff is exponential with "full jitter" (delay drawn uniformly from
 * [0, min(cap, base * 2^attempt)]), the variant AWS measured to spread
 * synchronized clients best. A `Retry-After` from the server overrides the
 * drawn delay (RFC 9110 §10.2.3); one longer than `maxRetryAfterMs` is not
 * waited out, the error goes to the caller instead, who can read
 * `retryAfterMs` on it.
 */

export interface RetryPolicy {
  /** Further attempts after the first (0 disables retries). Default 3. */
  retries: number;
  /** Default 250 ms. */
  baseDelayMs: number;
  /** Default 8 s. */
  maxDelayMs: number;
  /** Longest `Retry-After` the client waits out by itself. Default 60 s. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** 408 Request Timeout, 429 Too Many Requests and every 5xx are worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** Full-jitter exponential delay for the given 0-based retry number. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * Parses `Retry-After` (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) into
 * milliseconds from `now`; `undefined` when absent or unreadable. A date in
 * the past means "now" (0).
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only IMF-fixdate / obsolete HTTP-date forms contain a letter; a bare
  // number with a sign or fraction is invalid per the grammar, so is refused.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
