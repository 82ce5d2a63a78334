import { KeyError } from "../errors.ts";
import { createJwks, type JsonWebKeySet } from "./jwks.ts";
import { isPlainObject } from "./rsa-jwk.ts";
import { generateSigningKey, isSigningKey, type SigningKey } from "./signing-key.ts";

/** A key that no longer signs but stays published until every token it signed has expired. */
export interface RetiredKey {
  readonly key: SigningKey;
  /** When it stopped signing (seconds since the epoch). */
  readonly retiredAt: number;
  /** When it leaves the JWKS: retiredAt + max token lifetime + grace. */
  readonly removeAt: number;
}

export interface KeySetOptions {
  /** Longest lifetime (exp − iat) of any token signed with this set, in seconds. */
  maxTokenLifetimeSeconds: number;
  /** Extra seconds a retired key stays published, for verifiers' clock tolerance; default 300. */
  graceSeconds?: number;
  /** The signing key; generated when absent. */
  current?: SigningKey;
  /** The key published ahead of its use; generated when absent. */
  next?: SigningKey;
  /** Retired keys restored from storage. */
  retired?: readonly RetiredKey[];
  /** How `rotate` makes the new next key when none is given; default `generateSigningKey()`. */
  generate?: () => Promise<SigningKey>;
}

const MAX_LIFETIME_SECONDS = 366 * 24 * 3600;

function readSeconds(value: unknown, name: string, fallback?: number): number {
  const seconds = value ?? fallback;
  if (
    typeof seconds !== "number" ||
    !Number.isFinite(seconds) ||
    seconds < 0 ||
    seconds > MAX_LIFETIME_SECONDS
  ) {
    throw new KeyError(
      "KEY_INVALID_OPTION",
      `${name} must be a number of seconds from 0 to ${MAX_LIFETIME_SECONDS}`,
    );
  }
  return seconds;
}

function readTime(value: unknown): number {
  // Above 1e11 it is milliseconds passed where seconds were meant.
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1e11) {
    throw new KeyError("KEY_INVALID_OPTION", "now must be seconds since the epoch");
  }
  return value;
}

function requireSigningKey(value: unknown, name: string): SigningKey {
  if (!isSigningKey(value)) throw new KeyError("KEY_INVALID", `${name} must be a SigningKey`);
  return value;
}

/**
 * The issuer's keys through rotation: `current` signs, `next` is published
 * ahead so verifiers that cache the JWKS already hold it when it starts to
 * sign, and retired keys stay published until every token they signed has
 * expired (retiredAt + maxTokenLifetimeSeconds + graceSeconds).
 *
 * @example
 * const keys = await createKeySet({ maxTokenLifetimeSeconds: 3600 });
 * await keys.rotate(nowSeconds); // next becomes current, current retires, a new next is made
 * app.get("/.well-known/jwks.json", () => keys.publishedJwks(nowSeconds));
 */
export class KeySet {
  #current: SigningKey;
  #next: SigningKey;
  #retired: RetiredKey[];
  #lastRotation = 0;
  readonly #lifetime: number;
  readonly #grace: number;
  readonly #generate: () => Promise<SigningKey>;

  /** Use `createKeySet`. */
  constructor(options: KeySetOptions & { current: SigningKey; next: SigningKey }) {
    this.#lifetime = readSeconds(options.maxTokenLifetimeSeconds, "maxTokenLifetimeSeconds");
    this.#grace = readSeconds(options.graceSeconds, "graceSeconds", 300);
    this.#current = requireSigningKey(options.current, "current");
    this.#next = requireSigningKey(options.next, "next");
    const retired = options.retired ?? [];
    if (!Array.isArray(retired)) throw new KeyError("KEY_INVALID_OPTION", "retired must be an array");
    this.#retired = retired.map((entry: unknown) => {
      if (!isPlainObject(entry)) {
        throw new KeyError("KEY_INVALID_OPTION", "a retired entry must be an object");
      }
      return Object.freeze({
        key: requireSigningKey(entry.key, "a retired key"),
        retiredAt: readTime(entry.retiredAt),
        removeAt: readTime(entry.removeAt),
      });
    });
    this.#lastRotation = Math.max(0, ...this.#retired.map((entry) => entry.retiredAt));
    this.#generate = options.generate ?? (() => generateSigningKey());
    this.#assertDistinctKids();
  }

  /** The key that signs now. */
  get current(): SigningKey {
    return this.#current;
  }

  /** The key that will sign after the next rotation, already published. */
  get next(): SigningKey {
    return this.#next;
  }

  /** Keys that no longer sign but may still verify live tokens. */
  get retired(): readonly RetiredKey[] {
    return [...this.#retired];
  }

  #kids(): string[] {
    return [this.#current.kid, this.#next.kid, ...this.#retired.map((entry) => entry.key.kid)];
  }

  #assertDistinctKids(): void {
    const kids = this.#kids();
    if (new Set(kids).size !== kids.length) {
      throw new KeyError("JWKS_DUPLICATE_KID", "two keys of the set share a kid");
    }
  }

  /**
   * Rotates at `now` (seconds): `next` becomes `current`, `current` retires
   * until every token it signed has expired, and `nextKey` (or a generated
   * key) becomes `next`. Rotations must not go back in time.
   */
  async rotate(now: number, nextKey?: SigningKey): Promise<void> {
    const at = readTime(now);
    if (at < this.#lastRotation) {
      throw new KeyError("KEY_INVALID_OPTION", "rotate: now is before the last rotation");
    }
    const incoming = requireSigningKey(nextKey ?? (await this.#generate()), "the next key");
    if (this.#kids().includes(incoming.kid)) {
      throw new KeyError("JWKS_DUPLICATE_KID", "rotate: the next key is already in the set");
    }
    this.#retired = [
      ...this.#retired,
      Object.freeze({ key: this.#current, retiredAt: at, removeAt: at + this.#lifetime + this.#grace }),
    ];
    this.#current = this.#next;
    this.#next = incoming;
    this.#lastRotation = at;
  }

  /** Drops retired keys whose tokens have all expired at `now`; returns what was dropped. */
  prune(now: number): RetiredKey[] {
    const at = readTime(now);
    const dropped = this.#retired.filter((entry) => entry.removeAt <= at);
    this.#retired = this.#retired.filter((entry) => entry.removeAt > at);
    return dropped;
  }

  /** The JWKS to publish at `now`: current, next, and retired keys whose tokens may still be live. */
  publishedJwks(now: number): JsonWebKeySet {
    const at = readTime(now);
    const live = this.#retired.filter((entry) => entry.removeAt > at).map((entry) => entry.key.publicJwk);
    return createJwks([this.#current.publicJwk, this.#next.publicJwk, ...live]);
  }
}

/**
 * Builds a key set, generating `current` and `next` when they are not
 * restored from storage.
 *
 * @example
 * const keys = await createKeySet({ maxTokenLifetimeSeconds: 3600, generate: () => generateSigningKey({ extractable: true }) });
 */
export async function createKeySet(options: KeySetOptions): Promise<KeySet> {
  if (!isPlainObject(options)) {
    throw new KeyError("KEY_INVALID_OPTION", "createKeySet: options must be an object");
  }
  readSeconds(options.maxTokenLifetimeSeconds, "maxTokenLifetimeSeconds");
  const generate = options.generate ?? (() => generateSigningKey());
  if (typeof generate !== "function") {
    throw new KeyError("KEY_INVALID_OPTION", "createKeySet: generate must be a function");
  }
  const current = options.current ?? (await generate());
  const next = options.next ?? (await generate());
  return new KeySet({ ...options, current, next, generate });
}
