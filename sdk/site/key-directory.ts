/**
 * Agents' public signing keys, from the key directory the configured
 * issuer serves for each agent
 * (`<issuer>/.well-known/http-message-signatures-directory/agents/<agent_id>`,
 * draft-meunier-http-message-signatures-directory), and from nowhere else:
 * the URL a request names in `Signature-Agent` is never fetched
 * (docs/decisions/web-bot-auth.md).
 *
 * Per agent, as the JWKS cache does for the issuer's keys: freshness from
 * `Cache-Control` (clamped), a conditional refresh (`ETag`), a stale
 * directory kept verifying while one background refresh runs (up to
 * `maxStaleMs`), a keyid the directory lacks refetching at most once per
 * `cooldownMs` (a key registered a moment ago), no new attempt for
 * `retryAfterFailureMs` after a failure, one fetch in flight per agent. An
 * unknown agent (404) is remembered like an empty directory. At most
 * `maxAgents` directories are held, the least recently used dropped first.
 * Fetching is `internal/bounded-fetch.ts`'s (no redirects, a deadline, a
 * bounded body).
 *
 * Each key is checked by the core (`checkAgentPublicJwk`: Ed25519 or P-256,
 * no private members) and filed under the thumbprint computed here, never
 * under the `kid` the document claims.
 */
import { type AgentPublicJwk, agentKeyThumbprint, checkAgentPublicJwk } from "@lime-ts/core/http-signatures";
import { LimeSdkError } from "../errors.ts";
import { boundedFetch, freshnessMs, nonNegative } from "../internal/bounded-fetch.ts";
import { type FetchLike, globalFetch, isRecord } from "../internal/http.ts";
import { agentDirectoryUrl } from "../internal/web-bot-auth.ts";

const DIRECTORY_MEDIA_TYPE = "application/http-message-signatures-directory+json";
/** The server holds at most 5 active keys per agent; a document is a few hundred bytes per key. */
const MAX_DIRECTORY_BYTES = 64 * 1024;
const MAX_KEYS_READ = 16;

export interface KeyDirectoryOptions {
  /** Most agents whose directory is held in memory. Default 10,000. */
  maxAgents?: number;
  /** Freshness when the response gives none. Default 60 s. */
  defaultTtlMs?: number;
  /** Floor for the server's max-age. Default 10 s. */
  minTtlMs?: number;
  /** Ceiling for the server's max-age. Default 10 min. */
  maxTtlMs?: number;
  /** How long past its freshness a directory keeps verifying while it cannot be refreshed. Default 10 min. */
  maxStaleMs?: number;
  /** Least time between a refetch for an unknown keyid and the agent's previous fetch. Default 10 s. */
  cooldownMs?: number;
  /** Wait after a failed fetch (per agent) before any new attempt. Default 5 s. */
  retryAfterFailureMs?: number;
  /** Per-fetch deadline. Default 5 s. */
  timeoutMs?: number;
}

export interface KeyDirectoryStats {
  /** HTTP requests sent (whatever their outcome). */
  requests: number;
  /** Of those, answered 304. */
  notModified: number;
  failures: number;
  /** Unknown keyids that led to a refetch. */
  keyMissRefetches: number;
}

interface Directory {
  keys: Map<string, AgentPublicJwk>;
  etag: string | undefined;
  expiresAt: number;
}

interface AgentEntry {
  directory: Directory | undefined;
  inflight: Promise<Directory> | undefined;
  lastAttemptAt: number;
  lastFailureAt: number;
  lastError: unknown;
}

export class KeyDirectory {
  /** `<issuer>/.well-known/http-message-signatures-directory/agents/`, each agent's id appended. */
  readonly baseUrl: string;
  readonly stats: KeyDirectoryStats = { requests: 0, notModified: 0, failures: 0, keyMissRefetches: 0 };
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #maxAgents: number;
  readonly #defaultTtlMs: number;
  readonly #minTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #maxStaleMs: number;
  readonly #cooldownMs: number;
  readonly #retryAfterFailureMs: number;
  readonly #timeoutMs: number;
  readonly #agents = new Map<string, AgentEntry>();

  constructor(options: KeyDirectoryOptions & { baseUrl: string; fetch?: FetchLike; now?: () => number }) {
    this.baseUrl = options.baseUrl;
    this.#fetch = options.fetch ?? globalFetch;
    this.#now = options.now ?? Date.now;
    this.#maxAgents = nonNegative(options.maxAgents ?? 10_000, "keyDirectory.maxAgents");
    this.#defaultTtlMs = nonNegative(options.defaultTtlMs ?? 60_000, "keyDirectory.defaultTtlMs");
    this.#minTtlMs = nonNegative(options.minTtlMs ?? 10_000, "keyDirectory.minTtlMs");
    this.#maxTtlMs = nonNegative(options.maxTtlMs ?? 600_000, "keyDirectory.maxTtlMs");
    this.#maxStaleMs = nonNegative(options.maxStaleMs ?? 600_000, "keyDirectory.maxStaleMs");
    this.#cooldownMs = nonNegative(options.cooldownMs ?? 10_000, "keyDirectory.cooldownMs");
    this.#retryAfterFailureMs = nonNegative(
      options.retryAfterFailureMs ?? 5_000,
      "keyDirectory.retryAfterFailureMs",
    );
    this.#timeoutMs = nonNegative(options.timeoutMs ?? 5_000, "keyDirectory.timeoutMs");
  }

  /** The directory URL of `agentId` on the configured issuer. */
  urlFor(agentId: string): string {
    return agentDirectoryUrl(this.baseUrl, agentId);
  }

  /**
   * The agent's ACTIVE key with thumbprint `keyId`, or `undefined` when its
   * directory (fetched now if needed, refetched once per cooldown for a
   * keyid it lacks) does not list it. Throws SDK_KEY_DIRECTORY_UNAVAILABLE
   * when the directory was never obtained, or is stale past `maxStaleMs`,
   * and cannot be fetched now.
   */
  async findKey(agentId: string, keyId: string): Promise<AgentPublicJwk | undefined> {
    const entry = this.#entry(agentId);
    const directory = await this.#usable(agentId, entry);
    const key = directory.keys.get(keyId);
    if (key !== undefined) return key;
    const now = this.#now();
    if (entry.inflight === undefined && !this.#mayAttempt(entry, now, this.#cooldownMs)) return undefined;
    if (entry.inflight === undefined) this.stats.keyMissRefetches++;
    try {
      return (await this.#load(agentId, entry)).keys.get(keyId);
    } catch {
      return undefined;
    }
  }

  /** A directory fit to verify with: cached (refreshed behind the caller when stale) or fetched now. */
  async #usable(agentId: string, entry: AgentEntry): Promise<Directory> {
    const now = this.#now();
    const held = entry.directory;
    if (held !== undefined && now < held.expiresAt + this.#maxStaleMs) {
      if (now >= held.expiresAt && this.#mayAttempt(entry, now, 0)) {
        this.#load(agentId, entry).catch(() => {});
      }
      return held;
    }
    if (entry.inflight === undefined && !this.#mayAttempt(entry, now, 0)) throw this.#unavailable(entry);
    try {
      return await this.#load(agentId, entry);
    } catch {
      throw this.#unavailable(entry);
    }
  }

  /** The agent's slot, moved to the most recently used end; the least recently used dropped past `maxAgents`. */
  #entry(agentId: string): AgentEntry {
    let entry = this.#agents.get(agentId);
    if (entry !== undefined) {
      this.#agents.delete(agentId);
    } else {
      entry = {
        directory: undefined,
        inflight: undefined,
        lastAttemptAt: Number.NEGATIVE_INFINITY,
        lastFailureAt: Number.NEGATIVE_INFINITY,
        lastError: undefined,
      };
    }
    this.#agents.set(agentId, entry);
    while (this.#agents.size > this.#maxAgents) this.#agents.delete(this.#agents.keys().next().value!);
    return entry;
  }

  #mayAttempt(entry: AgentEntry, now: number, minIntervalMs: number): boolean {
    if (now - entry.lastFailureAt < this.#retryAfterFailureMs) return false;
    return now - entry.lastAttemptAt >= minIntervalMs;
  }

  #unavailable(entry: AgentEntry): LimeSdkError {
    return new LimeSdkError(
      "SDK_KEY_DIRECTORY_UNAVAILABLE",
      "the agent's key directory could not be fetched from the issuer",
      { cause: entry.lastError },
    );
  }

  #load(agentId: string, entry: AgentEntry): Promise<Directory> {
    entry.inflight ??= this.#fetchOnce(agentId, entry).finally(() => {
      entry.inflight = undefined;
    });
    return entry.inflight;
  }

  async #fetchOnce(agentId: string, entry: AgentEntry): Promise<Directory> {
    entry.lastAttemptAt = this.#now();
    this.stats.requests++;
    const previous = entry.directory;
    try {
      const answer = await boundedFetch({
        fetch: this.#fetch,
        url: this.urlFor(agentId),
        accept: `${DIRECTORY_MEDIA_TYPE}, application/json`,
        etag: previous?.etag,
        timeoutMs: this.#timeoutMs,
        maxBytes: MAX_DIRECTORY_BYTES,
        what: "key directory fetch",
        alsoRead: [404],
      });
      const expiresAt = this.#now() + this.#ttl(answer.headers);
      if (answer.notModified) {
        this.stats.notModified++;
        // A 304 answers only a validator, so `previous` is there.
        entry.directory = { ...(previous as Directory), etag: answer.etag, expiresAt };
        return entry.directory;
      }
      // 404: no such agent, or a revoked one (its keys count as revoked everywhere): it has no keys.
      const keys = answer.status === 404 ? new Map() : await readDirectory(answer.text);
      entry.directory = { keys, etag: answer.status === 404 ? undefined : answer.etag, expiresAt };
      return entry.directory;
    } catch (error) {
      this.stats.failures++;
      entry.lastFailureAt = this.#now();
      entry.lastError = error;
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

/**
 * The keys of a directory document (`{"keys": [JWK, ...]}`) by their
 * computed thumbprint. A key the core refuses is skipped, so one bad entry
 * does not hide the others; a document that is not one is SDK_INVALID_RESPONSE.
 */
async function readDirectory(text: string): Promise<Map<string, AgentPublicJwk>> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new LimeSdkError("SDK_INVALID_RESPONSE", "key directory: not JSON");
  }
  if (!isRecord(document) || !Array.isArray(document.keys)) {
    throw new LimeSdkError("SDK_INVALID_RESPONSE", 'key directory: no "keys" array');
  }
  const keys = new Map<string, AgentPublicJwk>();
  for (const raw of document.keys.slice(0, MAX_KEYS_READ)) {
    if (!isRecord(raw)) continue;
    try {
      const { kty, crv, x, y } = raw;
      const jwk = checkAgentPublicJwk(y === undefined ? { kty, crv, x } : { kty, crv, x, y });
      keys.set(await agentKeyThumbprint(jwk), jwk);
    } catch {
      // Not a key this SDK verifies with (another curve, a malformed one): skipped.
    }
  }
  return keys;
}
