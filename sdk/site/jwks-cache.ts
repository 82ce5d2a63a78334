/**
 * The issuer's JWKS, fetched once and then served from memory.
 *
 * What LIME's Python site SDK gets wrong and this fixes: it refetches the
 * key set on every unknown `kid`, so a flood of tokens with made-up kids
 * becomes a flood of requests to the issuer. Here:
 * - Freshness comes from the response: `Cache-Control: max-age` minus `Age`
 *   (RFC 9111 §4.2), clamped to [minTtlMs, maxTtlMs] so `no-store` cannot
 *   turn every verification into a fetch, and `ETag` makes a refresh a
 *   conditional request (`If-None-Match`, 304 keeps the keys, RFC 9110 §13.1.2).
 * - A stale set keeps verifying while one background refresh runs
 *   (stale-while-revalidate): verification never waits on the network
 *   once the first fetch succeeded, and keeps working while the issuer is
 *   down, for `maxStaleMs` past freshness (RFC 5861 stale-if-error). After
 *   that the set is not trusted until the issuer answers again: a key the
 *   issuer removed (a compromise) must stop verifying within a bounded time,
 *   even for a site that cannot reach the issuer (or is kept from it).
 * - An unknown `kid` triggers at most one refetch per `cooldownMs`, however
 *   many tokens ask; concurrent askers share the one request.
 * - After a failed fetch, nothing is tried again for `retryAfterFailureMs`.
 *
 * Fetching is `internal/bounded-fetch.ts`'s (no redirects, a deadline,
 * bodies over 512 KiB refused); a plain `http:` URL off loopback is refused
 * unless `allowInsecureTransport` (whoever is on the path could hand us
 * their own keys), and a document the core's
 * `createLocalJwks` refuses (malformed, private members, weak keys) never
 * replaces a good one.
 */
import { createLocalJwks, type LocalJwks } from "@lime-ts/core/keys";
import { LimeSdkError } from "../errors.ts";
import { boundedFetch, freshnessMs, nonNegative } from "../internal/bounded-fetch.ts";
import { type FetchLike, globalFetch } from "../internal/http.ts";
import { requireSecureTransport } from "../internal/loopback.ts";

const MAX_JWKS_BYTES = 512 * 1024;

export interface JwksCacheOptions {
  /** The JWKS document's URL (e.g. `https://issuer.example/.well-known/jwks.json`). */
  url: string;
  /** Accept a plain `http:` URL off loopback (keys anyone on the path can replace). Development only. */
  allowInsecureTransport?: boolean;
  fetch?: FetchLike;
  /** Minimum interval between an unknown-kid refetch and the previous fetch. Default 30 s. */
  cooldownMs?: number;
  /** Wait after a failed fetch before any new attempt. Default 5 s. */
  retryAfterFailureMs?: number;
  /** Freshness when the response gives none. Default 5 min. */
  defaultTtlMs?: number;
  /** Floor for the server's max-age. Default 30 s. */
  minTtlMs?: number;
  /** Ceiling for the server's max-age. Default 24 h. */
  maxTtlMs?: number;
  /**
   * How long past its freshness a set keeps verifying while it cannot be
   * refreshed; then SDK_JWKS_UNAVAILABLE until the issuer answers. Default 1 h.
   */
  maxStaleMs?: number;
  /** Per-fetch deadline. Default 5 s. */
  timeoutMs?: number;
  /** Clock in epoch ms; tests move it. */
  now?: () => number;
}

export interface JwksCacheStats {
  /** HTTP requests sent to the JWKS URL (whatever their outcome). */
  requests: number;
  /** Of those, answered 304 Not Modified. */
  notModified: number;
  failures: number;
  /** Unknown-kid misses that led to a refetch. */
  kidMissRefetches: number;
  /** Unknown-kid misses refused without network because of the cooldown. */
  kidMissesSuppressed: number;
}

interface Snapshot {
  jwks: LocalJwks;
  etag: string | undefined;
  fetchedAt: number;
  expiresAt: number;
}

export class JwksCache {
  readonly url: string;
  readonly stats: JwksCacheStats = {
    requests: 0,
    notModified: 0,
    failures: 0,
    kidMissRefetches: 0,
    kidMissesSuppressed: 0,
  };
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #cooldownMs: number;
  readonly #retryAfterFailureMs: number;
  readonly #defaultTtlMs: number;
  readonly #minTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #maxStaleMs: number;
  readonly #timeoutMs: number;
  #snapshot: Snapshot | undefined;
  #inflight: Promise<Snapshot> | undefined;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #lastFailureAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;

  constructor(options: JwksCacheOptions) {
    const url = new URL(options.url);
    requireSecureTransport(url, "JwksCache: url", options.allowInsecureTransport);
    this.url = url.href;
    this.#fetch = options.fetch ?? globalFetch;
    this.#now = options.now ?? Date.now;
    this.#cooldownMs = nonNegative(options.cooldownMs ?? 30_000, "cooldownMs");
    this.#retryAfterFailureMs = nonNegative(options.retryAfterFailureMs ?? 5_000, "retryAfterFailureMs");
    this.#defaultTtlMs = nonNegative(options.defaultTtlMs ?? 300_000, "defaultTtlMs");
    this.#minTtlMs = nonNegative(options.minTtlMs ?? 30_000, "minTtlMs");
    this.#maxTtlMs = nonNegative(options.maxTtlMs ?? 86_400_000, "maxTtlMs");
    this.#maxStaleMs = nonNegative(options.maxStaleMs ?? 3_600_000, "maxStaleMs");
    this.#timeoutMs = nonNegative(options.timeoutMs ?? 5_000, "timeoutMs");
  }

  /** True while the cached set is within its freshness lifetime. */
  get fresh(): boolean {
    return this.#snapshot !== undefined && this.#now() < this.#snapshot.expiresAt;
  }

  /** The kids of the cached set (empty before the first fetch). */
  get kids(): string[] {
    return this.#snapshot?.jwks.kids ?? [];
  }

  /**
   * The key set to verify with. Fetches on first use (SDK_JWKS_UNAVAILABLE
   * if that fails); afterwards returns at once, starting a background
   * refresh when the set has gone stale. A set stale for longer than
   * `maxStaleMs` is refetched first, and SDK_JWKS_UNAVAILABLE if that fails.
   */
  async current(): Promise<LocalJwks> {
    const snapshot = this.#snapshot;
    const now = this.#now();
    if (snapshot !== undefined && now < snapshot.expiresAt + this.#maxStaleMs) {
      if (now >= snapshot.expiresAt && this.#mayAttempt(0)) this.#refreshInBackground();
      return snapshot.jwks;
    }
    if (this.#inflight === undefined && !this.#mayAttempt(0)) throw this.#unavailable();
    try {
      return (await this.#load()).jwks;
    } catch {
      throw this.#unavailable();
    }
  }

  /**
   * Called when a token names a kid the cached set lacks. Refetches at most
   * once per cooldown (sharing any fetch in flight) and resolves to the new
   * set, or to `undefined` when no refetch was allowed or it failed.
   */
  async refreshForUnknownKid(): Promise<LocalJwks | undefined> {
    if (this.#inflight === undefined && !this.#mayAttempt(this.#cooldownMs)) {
      this.stats.kidMissesSuppressed++;
      return undefined;
    }
    if (this.#inflight === undefined) this.stats.kidMissRefetches++;
    try {
      return (await this.#load()).jwks;
    } catch {
      return undefined;
    }
  }

  /** Forces a fetch now (ignoring freshness and cooldown); for operators and tests. */
  async refresh(): Promise<void> {
    await this.#load();
  }

  #mayAttempt(minIntervalMs: number): boolean {
    const now = this.#now();
    if (now - this.#lastFailureAt < this.#retryAfterFailureMs) return false;
    return now - this.#lastAttemptAt >= minIntervalMs;
  }

  #refreshInBackground(): void {
    this.#load().catch(() => {});
  }

  #unavailable(): LimeSdkError {
    return new LimeSdkError(
      "SDK_JWKS_UNAVAILABLE",
      `the issuer's JWKS could not be fetched from ${this.url}`,
      {
        cause: this.#lastError,
      },
    );
  }

  /** One shared fetch at a time. */
  #load(): Promise<Snapshot> {
    this.#inflight ??= this.#fetchOnce().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetchOnce(): Promise<Snapshot> {
    this.#lastAttemptAt = this.#now();
    this.stats.requests++;
    const previous = this.#snapshot;
    try {
      const answer = await boundedFetch({
        fetch: this.#fetch,
        url: this.url,
        accept: "application/jwk-set+json, application/json",
        etag: previous?.etag,
        timeoutMs: this.#timeoutMs,
        maxBytes: MAX_JWKS_BYTES,
        what: "JWKS fetch",
      });
      const now = this.#now();
      const expiresAt = now + this.#ttl(answer.headers);
      if (answer.notModified) {
        this.stats.notModified++;
        // A 304 answers only a validator, so `previous` is there.
        this.#snapshot = { ...(previous as Snapshot), etag: answer.etag, fetchedAt: now, expiresAt };
        return this.#snapshot;
      }
      const jwks = createLocalJwks(JSON.parse(answer.text));
      this.#snapshot = { jwks, etag: answer.etag, fetchedAt: now, expiresAt };
      return this.#snapshot;
    } catch (error) {
      this.stats.failures++;
      this.#lastFailureAt = this.#now();
      this.#lastError = error;
      throw error;
    }
  }

  #ttl(headers: Headers): number {
    return freshnessMs(headers, {
      fallbackMs: this.#defaultTtlMs,
      minMs: this.#minTtlMs,
      maxMs: this.#maxTtlMs,
    });
  }
}
