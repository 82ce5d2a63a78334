/**
 * Nonces of request signatures already accepted, each remembered until its
 * signature expires: after that the signature is refused as expired anyway,
 * so the window a nonce must be held is the signature's own (at most the
 * verifier's longest accepted lifetime, 300 s).
 *
 * Bounded: at `maxEntries` the expired nonces go first; if the cache is
 * still full, the oldest accepted ones are dropped (a replay of those would
 * then pass the nonce check, but needs more than `maxEntries` signatures
 * accepted within one lifetime: 100,000 in 300 s is 333 per second for one
 * verifier). Per verifier instance and in memory: several instances behind
 * a balancer each hold their own, docs/decisions/web-bot-auth.md says why.
 */

export class NonceReplayCache {
  readonly #maxEntries: number;
  /** Nonce key → expiry in epoch ms, in the order accepted. */
  readonly #entries = new Map<string, number>();

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError("replayCacheSize must be an integer >= 1");
    }
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Records `key` until `expiresAtMs` and returns true, or returns false
   * when it is already held and unexpired (a replay). Check and record are
   * one synchronous step, so two concurrent requests cannot both pass.
   */
  remember(key: string, expiresAtMs: number, nowMs: number): boolean {
    const held = this.#entries.get(key);
    if (held !== undefined && held > nowMs) return false;
    if (held !== undefined) this.#entries.delete(key);
    this.#dropExpiredAtFront(nowMs);
    if (this.#entries.size >= this.#maxEntries) this.#makeRoom(nowMs);
    this.#entries.set(key, expiresAtMs);
    return true;
  }

  /** Cheap and constant on average: entries are mostly in expiry order, so the expired ones gather in front. */
  #dropExpiredAtFront(nowMs: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt > nowMs) return;
      this.#entries.delete(key);
    }
  }

  /** Full: every expired entry goes; if that is not enough, the oldest until a tenth of the room is free (so this runs rarely). */
  #makeRoom(nowMs: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt <= nowMs) this.#entries.delete(key);
    }
    if (this.#entries.size < this.#maxEntries) return;
    const target = this.#maxEntries - Math.max(1, Math.floor(this.#maxEntries / 10));
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= target) return;
      this.#entries.delete(key);
    }
  }
}
