/**
 * A per-key cache of short-lived tokens with single-flight renewal.
 *
 * A token is served while it has more than `skew` left to live; after that
 * the next caller mints a new one, and every concurrent caller for the same
 * key shares that one mint (one request to the issuer, not one per caller).
 * A failed mint is not cached: the next call tries again. `skew` is capped
 * at half the token's lifetime so a short-lived token is still reused.
 */

export interface MintedToken<T> {
  value: T;
  /** Epoch milliseconds after which the token is no longer valid. */
  expiresAt: number;
  /** Epoch milliseconds at which it was minted (for the half-lifetime cap). */
  issuedAt: number;
}

export class TokenCache<T> {
  readonly #entries = new Map<string, MintedToken<T>>();
  readonly #inflight = new Map<string, Promise<MintedToken<T>>>();
  readonly #skewMs: number;
  readonly #now: () => number;

  constructor(options: { skewMs: number; now?: () => number }) {
    if (!Number.isFinite(options.skewMs) || options.skewMs < 0) throw new RangeError("skewMs must be >= 0");
    this.#skewMs = options.skewMs;
    this.#now = options.now ?? Date.now;
  }

  /** The cached token for `key` when still fresh, else the result of one shared `mint()`. */
  async get(key: string, mint: () => Promise<MintedToken<T>>): Promise<T> {
    const cached = this.#entries.get(key);
    if (cached && this.#fresh(cached)) return cached.value;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = mint().then(
        (token) => {
          this.#entries.set(key, token);
          return token;
        },
        (error: unknown) => {
          this.#entries.delete(key);
          throw error;
        },
      );
      const settle = () => this.#inflight.delete(key);
      pending.then(settle, settle);
      this.#inflight.set(key, pending);
    }
    return (await pending).value;
  }

  /** Drops the token for `key` (e.g. after a site refused it). */
  evict(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  #fresh(token: MintedToken<T>): boolean {
    const lifetime = Math.max(0, token.expiresAt - token.issuedAt);
    const skew = Math.min(this.#skewMs, lifetime / 2);
    return this.#now() < token.expiresAt - skew;
  }
}
