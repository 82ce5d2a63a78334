/**
 * What the issuer revoked before `exp`, so a verifier refuses it
 * (PASSPORT_REVOKED): agents revoked, agent tokens rotated, bindings
 * revoked, agent keys revoked (a passport bound to the key by `cnf.jkt`). Learned two ways (docs/revocation.md):
 *
 * - the signed list at `<issuer>/api/v1/core/revocations`, polled: a
 *   verification that finds the list older than `pollIntervalMs` waits for
 *   one conditional fetch (`If-None-Match`; 304 keeps the list), shared by
 *   every concurrent verification, so a guard without an event stream
 *   learns a revocation within the poll interval. No timer runs: a verifier
 *   nobody uses makes no requests.
 * - `revoked` events of a `SiteClient`'s event stream, at once (`learn`).
 *
 * The list is trusted only when its JWT verifies against the issuer's JWKS
 * (`typ` revocation-list+jwt, `iss`, `aud` lime-revocation-list, `exp`) and
 * its `entries_sha256` is the SHA-256 of the entries it came with; a list
 * older (`iat`) than the one held never replaces it. Fetching is as careful
 * as the JWKS cache's: no redirects, a deadline, a bounded body, https off
 * loopback. When the list cannot be fetched, verification goes on with what
 * is known (the revocations already learned stay), and `stats.failures`
 * counts it: the list narrows what is accepted, it is not a second key set.
 */

import { encodeBase64url } from "@lime-ts/core/encoding";
import { PassportError } from "@lime-ts/core/errors";
import { verifyJwt } from "@lime-ts/core/passport";
import { LimeSdkError } from "../errors.ts";
import { boundedFetch, nonNegative } from "../internal/bounded-fetch.ts";
import { type FetchLike, globalFetch } from "../internal/http.ts";
import { requireSecureTransport } from "../internal/loopback.ts";
import type { JwksCache } from "./jwks-cache.ts";

export const REVOCATION_LIST_TYP = "revocation-list+jwt";
export const REVOCATION_LIST_AUDIENCE = "lime-revocation-list";

export interface RevocationOptions {
  /** Check passports against the issuer's revocations. Default true. */
  enabled?: boolean;
  /** The list's URL; default `<issuer>/api/v1/core/revocations`. */
  url?: string;
  /** A verification that finds the list older than this fetches it again first. Default 30 s. */
  pollIntervalMs?: number;
  /** Per-fetch deadline. Default 5 s. */
  timeoutMs?: number;
  /** Wait after a failed fetch before any new attempt. Default 5 s. */
  retryAfterFailureMs?: number;
  /** Largest list body accepted. Default 4 MiB (some 40,000 entries). */
  maxBytes?: number;
  /** Most revocations remembered from events between two lists. Default 10,000. */
  maxPushed?: number;
}

/** One revocation, as the list and the `revoked` event carry it; `at` in seconds (NumericDate). */
export type RevocationEntry =
  | { kind: "agent"; agentId: string; at: number }
  | { kind: "agent_token"; agentId: string; at: number }
  | { kind: "binding"; bindingId: string; at: number }
  /** The agent's signing key `jkt` (its RFC 7638 thumbprint): passports bound to it are refused. */
  | { kind: "agent_key"; agentId: string; jkt: string; at: number };

export interface RevocationStats {
  /** HTTP requests sent to the list's URL. */
  requests: number;
  /** Of those, answered 304. */
  notModified: number;
  /** Fetches that failed or brought a list that did not verify. */
  failures: number;
  /** Revocations learned from events. */
  pushed: number;
  /** Passports refused as revoked. */
  refused: number;
}

/** What a revocation check needs of a verified passport. */
export interface RevocationSubject {
  agentId: string;
  /** `iat`, seconds. */
  issuedAt: number;
  /** Binding passports only. */
  bindingId?: string;
  /** Key-bound passports only: `cnf.jkt`, the thumbprint of the agent key they are bound to. */
  keyId?: string;
}

const ID_MAX = 256;

/** One entry of the wire (`{"kind", "agent_id" | "binding_id", "jkt"?, "at"}`); `undefined` when it is not one. */
export function readRevocationEntry(value: unknown): RevocationEntry | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const entry = value as Record<string, unknown>;
  const at = entry.at;
  if (typeof at !== "number" || !Number.isFinite(at) || at < 0) return undefined;
  const id = (name: string) => {
    const raw = entry[name];
    return typeof raw === "string" && raw.length > 0 && raw.length <= ID_MAX ? raw : undefined;
  };
  if (entry.kind === "agent" || entry.kind === "agent_token") {
    const agentId = id("agent_id");
    return agentId === undefined ? undefined : { kind: entry.kind, agentId, at };
  }
  if (entry.kind === "binding") {
    const bindingId = id("binding_id");
    return bindingId === undefined ? undefined : { kind: "binding", bindingId, at };
  }
  if (entry.kind === "agent_key") {
    const agentId = id("agent_id");
    const jkt = id("jkt");
    return agentId === undefined || jkt === undefined ? undefined : { kind: "agent_key", agentId, jkt, at };
  }
  return undefined;
}

/** Revocations by subject: the latest `at` of each. */
class RevocationSet {
  readonly agents = new Map<string, number>();
  readonly tokens = new Map<string, number>();
  readonly bindings = new Map<string, number>();
  readonly keys = new Map<string, number>();

  add(entry: RevocationEntry): void {
    const [map, key] = this.#slot(entry);
    map.set(key, Math.max(map.get(key) ?? 0, entry.at));
  }

  /** True when this set holds the entry's subject with an `at` at least as late. */
  covers(entry: RevocationEntry): boolean {
    const [map, key] = this.#slot(entry);
    return (map.get(key) ?? Number.NEGATIVE_INFINITY) >= entry.at;
  }

  #slot(entry: RevocationEntry): [Map<string, number>, string] {
    if (entry.kind === "agent") return [this.agents, entry.agentId];
    if (entry.kind === "agent_token") return [this.tokens, entry.agentId];
    if (entry.kind === "agent_key") return [this.keys, entry.jkt];
    return [this.bindings, entry.bindingId];
  }

  /** Why the subject is revoked, or undefined. */
  reason(subject: RevocationSubject): string | undefined {
    if (this.agents.has(subject.agentId)) return "the agent was revoked";
    const cutoff = this.tokens.get(subject.agentId);
    if (cutoff !== undefined && subject.issuedAt < cutoff) {
      return "the agent's token was rotated after this passport was issued";
    }
    if (subject.bindingId !== undefined && this.bindings.has(subject.bindingId)) {
      return "the binding was revoked";
    }
    // A key is revoked for good (the server never lets a thumbprint be registered again), so any `at` counts.
    if (subject.keyId !== undefined && this.keys.has(subject.keyId)) return "the agent's key was revoked";
    return undefined;
  }
}

interface ListState {
  set: RevocationSet;
  iat: number;
  etag: string | undefined;
  fetchedAt: number;
}

export interface RevocationCheckerOptions extends RevocationOptions {
  url: string;
  issuer: string;
  jwks: JwksCache;
  fetch?: FetchLike;
  now?: () => number;
  allowInsecureTransport?: boolean;
  clockToleranceSec?: number;
}

export class RevocationChecker {
  readonly url: string;
  readonly stats: RevocationStats = { requests: 0, notModified: 0, failures: 0, pushed: 0, refused: 0 };
  readonly #issuer: string;
  readonly #jwks: JwksCache;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #pollIntervalMs: number;
  readonly #timeoutMs: number;
  readonly #retryAfterFailureMs: number;
  readonly #maxBytes: number;
  readonly #maxPushed: number;
  readonly #clockToleranceSec: number;
  #list: ListState | undefined;
  /** Learned from events, each kept until a list holds it (see `#forgetPushedIn`). */
  #pushed = new Map<string, RevocationEntry>();
  #pushedSet = new RevocationSet();
  #inflight: Promise<void> | undefined;
  #lastFailureAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;

  constructor(options: RevocationCheckerOptions) {
    const url = new URL(options.url);
    requireSecureTransport(url, "RevocationChecker: url", options.allowInsecureTransport);
    this.url = url.href;
    this.#issuer = options.issuer;
    this.#jwks = options.jwks;
    this.#fetch = options.fetch ?? globalFetch;
    this.#now = options.now ?? Date.now;
    this.#pollIntervalMs = nonNegative(options.pollIntervalMs ?? 30_000, "pollIntervalMs");
    this.#timeoutMs = nonNegative(options.timeoutMs ?? 5_000, "timeoutMs");
    this.#retryAfterFailureMs = nonNegative(options.retryAfterFailureMs ?? 5_000, "retryAfterFailureMs");
    this.#maxBytes = nonNegative(options.maxBytes ?? 4 * 1024 * 1024, "maxBytes");
    this.#maxPushed = nonNegative(options.maxPushed ?? 10_000, "maxPushed");
    this.#clockToleranceSec = options.clockToleranceSec ?? 30;
  }

  /** The last fetch error, for health checks. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** `iat` of the list held (seconds), or undefined before the first one. */
  get listIssuedAt(): number | undefined {
    return this.#list?.iat;
  }

  /**
   * Throws PassportError PASSPORT_REVOKED when the issuer revoked what the
   * passport speaks for. Refreshes the list first when it is older than the
   * poll interval (see the header).
   */
  async check(subject: RevocationSubject): Promise<void> {
    const list = this.#list;
    const now = this.#now();
    if ((list === undefined || now - list.fetchedAt >= this.#pollIntervalMs) && this.#mayAttempt(now)) {
      await this.refresh().catch(() => {});
    }
    const reason = this.#pushedSet.reason(subject) ?? this.#list?.set.reason(subject);
    if (reason !== undefined) {
      this.stats.refused++;
      throw new PassportError("PASSPORT_REVOKED", `the passport was revoked: ${reason}`);
    }
  }

  /** A revocation heard on the event stream: refused from now on. */
  learn(entry: RevocationEntry): void {
    const key = pushedKey(entry);
    this.#pushed.delete(key);
    this.#pushed.set(key, entry);
    this.stats.pushed++;
    while (this.#pushed.size > this.#maxPushed) this.#pushed.delete(this.#pushed.keys().next().value!);
    this.#pushedSet.add(entry);
  }

  /** Fetches the list now (one fetch at a time); rejects when it fails or does not verify. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#fetchOnce().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  #mayAttempt(now: number): boolean {
    return this.#inflight !== undefined || now - this.#lastFailureAt >= this.#retryAfterFailureMs;
  }

  async #fetchOnce(): Promise<void> {
    this.stats.requests++;
    const previous = this.#list;
    try {
      const answer = await boundedFetch({
        fetch: this.#fetch,
        url: this.url,
        accept: "application/json",
        etag: previous?.etag,
        timeoutMs: this.#timeoutMs,
        maxBytes: this.#maxBytes,
        what: "revocation list fetch",
      });
      if (answer.notModified) {
        this.stats.notModified++;
        // A 304 answers only a validator, so `previous` is there.
        this.#list = { ...(previous as ListState), fetchedAt: this.#now() };
        return;
      }
      const { iat, entries } = await this.#readList(answer.text);
      if (previous !== undefined && iat < previous.iat) {
        throw new LimeSdkError("SDK_INVALID_RESPONSE", "the revocation list is older than the one held");
      }
      const set = new RevocationSet();
      for (const entry of entries) set.add(entry);
      this.#list = { set, iat, etag: answer.etag, fetchedAt: this.#now() };
      this.#forgetPushedIn(set);
    } catch (error) {
      this.stats.failures++;
      this.#lastFailureAt = this.#now();
      this.#lastError = error;
      throw error;
    }
  }

  /** Verifies the document: the JWT against the JWKS, the entries against its digest. */
  async #readList(text: string): Promise<{ iat: number; entries: RevocationEntry[] }> {
    const invalid = (why: string) => new LimeSdkError("SDK_INVALID_RESPONSE", `revocation list: ${why}`);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw invalid("not JSON");
    }
    const data = (document as { data?: unknown } | null)?.data as Record<string, unknown> | undefined;
    if (typeof data?.list_jwt !== "string" || typeof data.entries_json !== "string") {
      throw invalid("list_jwt or entries_json missing");
    }
    const verifyOptions = {
      issuer: this.#issuer,
      audience: REVOCATION_LIST_AUDIENCE,
      typ: REVOCATION_LIST_TYP,
      clockTolerance: this.#clockToleranceSec,
      now: this.#now() / 1000,
    };
    let jwks = await this.#jwks.current();
    let verified: Awaited<ReturnType<typeof verifyJwt>>;
    try {
      verified = await verifyJwt(data.list_jwt, jwks, verifyOptions);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "PASSPORT_UNKNOWN_KID") throw error;
      const refreshed = await this.#jwks.refreshForUnknownKid();
      if (refreshed === undefined || refreshed === jwks) throw error;
      jwks = refreshed;
      verified = await verifyJwt(data.list_jwt, jwks, verifyOptions);
    }
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(data.entries_json));
    if (verified.claims.entries_sha256 !== encodeBase64url(new Uint8Array(digest))) {
      throw invalid("the entries do not match the signed digest");
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data.entries_json);
    } catch {
      throw invalid("entries_json is not JSON");
    }
    if (!Array.isArray(raw)) throw invalid("entries_json is not an array");
    const entries: RevocationEntry[] = [];
    for (const item of raw) {
      const entry = readRevocationEntry(item);
      // An entry of a kind this SDK does not know is skipped: new kinds must not break old verifiers.
      if (entry !== undefined) entries.push(entry);
    }
    return { iat: verified.claims.iat, entries };
  }

  /**
   * An event's revocation is kept until a list holds it (same subject, `at`
   * as late): comparing the list's `iat` with when the event was heard
   * would mix the issuer's clock with ours. Bounded by `maxPushed` either way.
   */
  #forgetPushedIn(list: RevocationSet): void {
    let changed = false;
    for (const [key, entry] of this.#pushed) {
      if (list.covers(entry)) {
        this.#pushed.delete(key);
        changed = true;
      }
    }
    if (!changed) return;
    this.#pushedSet = new RevocationSet();
    for (const entry of this.#pushed.values()) this.#pushedSet.add(entry);
  }
}

/** One slot per subject among the revocations learned from events. */
function pushedKey(entry: RevocationEntry): string {
  if (entry.kind === "binding") return `b:${entry.bindingId}`;
  if (entry.kind === "agent_key") return `k:${entry.jkt}`;
  return `${entry.kind}:${entry.agentId}`;
}

/**
 * `<issuer>/api/v1/core/revocations`, keeping any path the issuer has. An
 * issuer that is no URL passes its JWKS URL instead: the list is then at that
 * origin.
 */
export function defaultRevocationUrl(issuerOrJwksUrl: string): string {
  const url = new URL(issuerOrJwksUrl);
  const base = url.pathname.endsWith("jwks.json") ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.origin}${base}/api/v1/core/revocations`;
}
