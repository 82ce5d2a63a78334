/**
 * Local passport verification for sites: the core's `verifyPassport` over a
 * cached copy of the issuer's JWKS (see `jwks-cache.ts`). After the first
 * key-set fetch, verifying a passport makes no network call; an unknown
 * `kid` may trigger one refetch per cooldown, never one per token.
 *
 * What is checked, in the core's fixed order: size, form, `alg` = RS256,
 * `typ` = passport+jwt, `kid` → one key, signature, passport claims,
 * issuer (exact string), audience, lifetime (with `clockToleranceSec`),
 * then `request_id` / `site_id` when the caller names them, then the
 * issuer's revocations (`revocations.ts`: PASSPORT_REVOKED). LIME's Python
 * site SDK skips the issuer check; here it is not optional.
 *
 * `verifyRequest` also checks the request's Web Bot Auth signature when
 * the passport is bound to an agent key (`cnf.jkt`) or the request is
 * signed (`request-signature.ts`; docs/web-bot-auth.md).
 *
 * The issuer and the JWKS URL must be `https:` (or plain `http:` to
 * loopback) unless `allowInsecureTransport`: whoever can replace the key
 * set in transit can forge every passport this verifier accepts.
 */
import type { LocalJwks } from "@lime-ts/core/keys";
import {
  type BindingPassportContext,
  type PassportContext,
  verifyBindingPassport,
  verifyPassport,
} from "@lime-ts/core/passport";
import { passportFrom } from "../internal/authorization.ts";
import type { FetchLike } from "../internal/http.ts";
import { httpUrlOrUndefined, requireSecureTransport } from "../internal/loopback.ts";
import { keyDirectoryBase } from "../internal/web-bot-auth.ts";
import { JwksCache, type JwksCacheOptions } from "./jwks-cache.ts";
import { KeyDirectory, type KeyDirectoryOptions } from "./key-directory.ts";
import { NonceReplayCache } from "./replay-cache.ts";
import { type AgentRequestContext, RequestSignatureChecker } from "./request-signature.ts";
import { defaultRevocationUrl, RevocationChecker, type RevocationOptions } from "./revocations.ts";

export interface PassportVerifierOptions {
  /** The issuer every passport must name in `iss`, e.g. "https://lime.example". */
  issuer: string;
  /** Audience(s) accepted when a call does not name its own. */
  audience?: string | string[];
  /** JWKS location; default `<issuer>/.well-known/jwks.json`. */
  jwksUrl?: string;
  /**
   * Development only: accept a plain `http:` issuer or `jwksUrl` off
   * loopback, so anyone on the path can swap the keys and forge passports.
   * Default false. Loopback (`localhost`, 127.0.0.0/8, `[::1]`) never needs it.
   */
  allowInsecureTransport?: boolean;
  /** Allowed clock skew on `exp`/`iat`/`nbf`, in seconds. Default 30, at most 300 (the core's bound). */
  clockToleranceSec?: number;
  fetch?: FetchLike;
  /** Cache tuning (cooldown, TTL bounds, timeout). */
  jwks?: Omit<JwksCacheOptions, "url" | "fetch" | "now" | "allowInsecureTransport">;
  /**
   * Refusing passports the issuer revoked before `exp` (PASSPORT_REVOKED):
   * the signed revocation list, polled every `pollIntervalMs` (30 s) while
   * the verifier is used. On by default; `{ enabled: false }` turns it off.
   * See docs/revocation.md.
   */
  revocation?: RevocationOptions;
  /**
   * `verifyRequest` (the guards): refuse every request without a valid Web
   * Bot Auth signature, unbound passports included (SIGNATURE_MISSING).
   * Default false: a signature is checked when the passport is key-bound or
   * the request is signed, and an unbound passport alone passes as LIME's
   * clients send it. See docs/web-bot-auth.md.
   */
  requireSignature?: boolean;
  /** Caching of agents' key directories (fetched from the issuer only). */
  keyDirectory?: KeyDirectoryOptions;
  /** Most signature nonces remembered against replay. Default 100,000. */
  replayCacheSize?: number;
  /** Clock in epoch milliseconds, shared by the cache and the lifetime checks; tests move it. */
  now?: () => number;
}

export interface VerifyOptions {
  /** Overrides the verifier's default audience for this call. */
  audience?: string | string[];
  /** The login request the passport must answer (`request_id`). */
  requestId?: string;
  /** The site the passport must be for (`site_id`). */
  siteId?: string;
}

export interface VerifyBindingOptions {
  /** The binding request the passport must complete (`binding_id`). */
  bindingId?: string;
  /** The site the passport must be for (`site_id`). */
  siteId?: string;
}

export class PassportVerifier {
  readonly issuer: string;
  readonly jwks: JwksCache;
  /** The issuer's revocations (undefined when turned off); `SiteClient` feeds it its stream's `revoked` events. */
  readonly revocations: RevocationChecker | undefined;
  /** Agents' public keys, from the issuer's key directory, for request signatures. */
  readonly keyDirectory: KeyDirectory;
  readonly #signatures: RequestSignatureChecker;
  readonly #audience: string | string[] | undefined;
  readonly #clockToleranceSec: number;
  readonly #now: () => number;

  constructor(options: PassportVerifierOptions) {
    if (typeof options?.issuer !== "string" || options.issuer === "") {
      throw new TypeError("PassportVerifier: issuer must be a non-empty string");
    }
    const allowInsecure = options.allowInsecureTransport;
    const issuerUrl = httpUrlOrUndefined(options.issuer);
    if (issuerUrl !== undefined) requireSecureTransport(issuerUrl, "PassportVerifier: issuer", allowInsecure);
    if (options.jwksUrl !== undefined) {
      requireSecureTransport(new URL(options.jwksUrl), "PassportVerifier: jwksUrl", allowInsecure);
    }
    this.issuer = options.issuer;
    this.#audience = options.audience;
    this.#clockToleranceSec = options.clockToleranceSec ?? 30;
    this.#now = options.now ?? Date.now;
    this.jwks = new JwksCache({
      ...options.jwks,
      url: options.jwksUrl ?? defaultJwksUrl(options.issuer),
      allowInsecureTransport: allowInsecure,
      fetch: options.fetch,
      now: this.#now,
    });
    const revocation = options.revocation ?? {};
    this.revocations =
      revocation.enabled === false
        ? undefined
        : new RevocationChecker({
            ...revocation,
            url: revocation.url ?? defaultRevocationUrl(issuerUrl?.href ?? this.jwks.url),
            issuer: options.issuer,
            jwks: this.jwks,
            fetch: options.fetch,
            now: this.#now,
            allowInsecureTransport: allowInsecure,
            clockToleranceSec: this.#clockToleranceSec,
          });
    this.keyDirectory = new KeyDirectory({
      ...options.keyDirectory,
      baseUrl: keyDirectoryBase(issuerUrl?.href ?? this.jwks.url),
      fetch: options.fetch,
      now: this.#now,
    });
    this.#signatures = new RequestSignatureChecker({
      directory: this.keyDirectory,
      replay: new NonceReplayCache(options.replayCacheSize ?? 100_000),
      requireSignature: options.requireSignature === true,
      clockToleranceSec: this.#clockToleranceSec,
      now: this.#now,
    });
  }

  /**
   * Verifies `token` and returns the agent it speaks for, or throws the
   * core's `PassportError` (stable `code`), or `LimeSdkError`
   * SDK_JWKS_UNAVAILABLE when no key set was ever obtained.
   *
   * @example
   * const verifier = new PassportVerifier({ issuer: "https://lime.example", audience: "https://shop.example" });
   * const passport = await verifier.verify(token);
   */
  async verify(token: string, options: VerifyOptions = {}): Promise<PassportContext> {
    const audience = options.audience ?? this.#audience;
    if (audience === undefined) throw new TypeError("PassportVerifier.verify: no audience given");
    const verifyOptions = {
      issuer: this.issuer,
      audience,
      clockTolerance: this.#clockToleranceSec,
      now: this.#now() / 1000,
      requestId: options.requestId,
      siteId: options.siteId,
    };
    const passport = await this.#withKeys((jwks) => verifyPassport(token, jwks, verifyOptions));
    await this.revocations?.check({
      agentId: passport.agentId,
      issuedAt: passport.issuedAt,
      keyId: passport.boundKeyThumbprint,
    });
    return passport;
  }

  /**
   * Verifies the passport a request presents (`Authorization: AgentPassport
   * <jwt>`, else SDK_PASSPORT_MISSING), as `verify` does, then its Web Bot
   * Auth signature when the passport is key-bound, the request is signed,
   * or `requireSignature` is set: throws the core's `SignatureError`
   * (SIGNATURE_*, in the order of docs/web-bot-auth.md), or
   * SDK_KEY_DIRECTORY_UNAVAILABLE when the agent's keys cannot be fetched.
   *
   * @example
   * const agent = await verifier.verifyRequest(request);
   * agent.signature?.keyId; // the key that signed, = the passport's cnf.jkt
   */
  async verifyRequest(request: Request, options: VerifyOptions = {}): Promise<AgentRequestContext> {
    const passport: AgentRequestContext = await this.verify(passportFrom(request), options);
    const signature = await this.#signatures.check(request, passport);
    if (signature !== undefined) passport.signature = signature;
    return passport;
  }

  /**
   * Verifies an Agent Binding passport (core's `verifyBindingPassport`:
   * `typ` binding+jwt, issuer, `aud` "lime-binding", at most 60 s, the
   * binding profile) and, when named, its `binding_id` and `site_id`.
   * Throws the core's `PassportError`, or SDK_JWKS_UNAVAILABLE.
   *
   * @example
   * const binding = await verifier.verifyBinding(jwt, { siteId, bindingId });
   */
  async verifyBinding(token: string, options: VerifyBindingOptions = {}): Promise<BindingPassportContext> {
    const verifyOptions = {
      issuer: this.issuer,
      clockTolerance: this.#clockToleranceSec,
      now: this.#now() / 1000,
      bindingId: options.bindingId,
      siteId: options.siteId,
    };
    const binding = await this.#withKeys((jwks) => verifyBindingPassport(token, jwks, verifyOptions));
    await this.revocations?.check({
      agentId: binding.agentId,
      issuedAt: binding.issuedAt,
      bindingId: binding.bindingId,
    });
    return binding;
  }

  /** Runs `verify` on the cached key set; an unknown kid earns one refetch (within the cache's cooldown). */
  async #withKeys<T>(verify: (jwks: LocalJwks) => Promise<T>): Promise<T> {
    const jwks = await this.jwks.current();
    try {
      return await verify(jwks);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "PASSPORT_UNKNOWN_KID") throw error;
      const refreshed = await this.jwks.refreshForUnknownKid();
      if (refreshed === undefined || refreshed === jwks) throw error;
      return verify(refreshed);
    }
  }
}

/** `<issuer>/.well-known/jwks.json`, keeping any path the issuer has. */
export function defaultJwksUrl(issuer: string): string {
  const url = new URL(issuer);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}/.well-known/jwks.json`;
}

/** Shorthand for `new PassportVerifier(options)`. */
export function createPassportVerifier(options: PassportVerifierOptions): PassportVerifier {
  return new PassportVerifier(options);
}
