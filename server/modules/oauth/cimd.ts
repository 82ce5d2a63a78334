/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
 * a client whose `client_id` is an https URL naming its own metadata.
 *
 * The URL must be https with a path, no fragment, no credentials and no dot
 * segments (draft §3). The document is fetched with `safeFetchJson` (SSRF
 * guards, size and time bounds, no redirects), must be a JSON object whose
 * `client_id` equals the URL exactly, must not carry a client secret, and is
 * then validated as any client metadata (`parseClientMetadata`). Documents
 * are cached for their `Cache-Control: max-age`, clamped to
 * [`minCacheMs`, `maxCacheMs`] (so one authorization flow, which reads the
 * client three times, fetches once); failures are remembered for
 * `failureCacheMs` so a broken or hostile URL is not fetched on every request.
 */

import type { Clock } from "../../clock.ts";
import { OAuthError } from "./errors.ts";
import { type ClientMetadata, parseClientMetadata } from "./registration.ts";
import { SafeFetchError, type SafeFetchOptions, safeFetchJson } from "./safe-fetch.ts";

export interface CimdOptions extends SafeFetchOptions {
  clock: Clock;
  minCacheMs: number;
  maxCacheMs: number;
  failureCacheMs: number;
  /** Most documents held in memory; the oldest entry goes first. */
  maxEntries: number;
}

/** True when `clientId` is meant as a metadata document URL (it is URL-shaped). */
export function looksLikeClientIdUrl(clientId: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(clientId);
}

/** Why `clientId` cannot be a Client ID Metadata Document URL (draft §3), or null. */
export function clientIdUrlProblem(clientId: string): string | null {
  if (clientId.length > 2048) return "is too long";
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:") return "must use https";
  if (clientId.includes("#")) return "must not contain a fragment";
  if (url.username !== "" || url.password !== "") return "must not contain credentials";
  const rawPath =
    clientId
      .slice(clientId.indexOf("//") + 2)
      .replace(/^[^/?]*/, "")
      .split("?")[0] ?? "";
  if (rawPath === "" || rawPath === "/") return "must contain a path";
  if (rawPath.split("/").some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) {
    return "must not contain dot segments";
  }
  return null;
}

function maxAgeMs(cacheControl: string | null): number | null {
  if (cacheControl === null) return null;
  const directives = cacheControl
    .toLowerCase()
    .split(",")
    .map((d) => d.trim());
  if (directives.includes("no-store") || directives.includes("no-cache")) return 0;
  const maxAge = directives.find((d) => d.startsWith("max-age="));
  if (!maxAge) return null;
  const seconds = Number(maxAge.slice(8));
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

const DEFAULT_CACHE_MS = 5 * 60_000;

interface Entry {
  metadata?: ClientMetadata;
  failure?: OAuthError;
  expiresAt: number;
}

export class CimdResolver {
  readonly #options: CimdOptions;
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<ClientMetadata>>();

  constructor(options: CimdOptions) {
    this.#options = options;
  }

  /** The validated metadata of the client `clientId` names, or `invalid_client`. */
  resolve(clientId: string): Promise<ClientMetadata> {
    const problem = clientIdUrlProblem(clientId);
    if (problem !== null) {
      return Promise.reject(new OAuthError("invalid_client", `The client_id URL ${problem}.`));
    }
    const now = this.#options.clock.now();
    const cached = this.#cache.get(clientId);
    if (cached && cached.expiresAt > now) {
      return cached.failure ? Promise.reject(cached.failure) : Promise.resolve(cached.metadata!);
    }
    let pending = this.#inflight.get(clientId);
    if (!pending) {
      pending = this.#load(clientId).finally(() => this.#inflight.delete(clientId));
      this.#inflight.set(clientId, pending);
    }
    return pending;
  }

  async #load(clientId: string): Promise<ClientMetadata> {
    try {
      const fetched = await safeFetchJson(new URL(clientId), this.#options);
      const metadata = this.#validate(clientId, fetched.body);
      const ttl = maxAgeMs(fetched.cacheControl) ?? DEFAULT_CACHE_MS;
      const clamped = Math.min(this.#options.maxCacheMs, Math.max(this.#options.minCacheMs, ttl));
      this.#remember(clientId, { metadata, expiresAt: this.#options.clock.now() + clamped });
      return metadata;
    } catch (error) {
      const failure =
        error instanceof OAuthError
          ? error
          : new OAuthError(
              "invalid_client",
              `The client metadata document could not be fetched (${error instanceof SafeFetchError ? error.reason : "network"}).`,
            );
      this.#remember(clientId, {
        failure,
        expiresAt: this.#options.clock.now() + this.#options.failureCacheMs,
      });
      throw failure;
    }
  }

  #validate(clientId: string, body: unknown): ClientMetadata {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new OAuthError("invalid_client", "The client metadata document is not a JSON object.");
    }
    const document = body as Record<string, unknown>;
    // Draft §4: simple string comparison, no normalisation.
    if (document.client_id !== clientId) {
      throw new OAuthError("invalid_client", "The client metadata document names a different client_id.");
    }
    if (document.client_secret !== undefined || document.client_secret_expires_at !== undefined) {
      throw new OAuthError("invalid_client", "A client metadata document must not carry a client secret.");
    }
    try {
      return parseClientMetadata(document, "document");
    } catch (error) {
      throw new OAuthError(
        "invalid_client",
        `The client metadata document is not valid: ${error instanceof Error ? error.message : "invalid"}`,
      );
    }
  }

  #remember(clientId: string, entry: Entry): void {
    this.#cache.delete(clientId);
    this.#cache.set(clientId, entry);
    while (this.#cache.size > this.#options.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
