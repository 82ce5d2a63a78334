/**
 * The agent's signing key and its life at the issuer (docs/web-bot-auth.md):
 * registration with a proof of possession (a DPoP-format JWS, RFC 9449 §4,
 * signed by the key being registered), listing, revocation, rotation, and
 * the key directory's signature the issuer serves for the key (uploaded at
 * registration for 24 h, renewed in the background once less than 2 h
 * remain; the issuer never holds the private key, so it cannot sign it).
 *
 * The private key stays a `CryptoKey`; a private JWK given in the options is
 * imported once (`importAgentKey`), and a failed import surfaces at the
 * first use of the key.
 */
import {
  type AgentKeyAlgorithm,
  type AgentKeyPair,
  type AgentPublicJwk,
  checkAgentPublicJwk,
  createKeyProof,
  generateAgentKey,
  importAgentKey,
} from "@lime-ts/core/http-signatures";
import { encodePathId, type HttpClient, isRecord } from "../internal/http.ts";
import { invalid, optStr, readRecord, str, timestamp } from "../internal/wire.ts";
import { DIRECTORY_SIGNATURE_RENEW_SECONDS, directorySignature } from "./request-signing.ts";

const KEYS_PATH = "/api/v1/core/agents/me/keys";
/** After a failed background renewal of the directory signature, wait this long before the next. */
const RENEW_RETRY_MS = 5 * 60_000;

/** An agent key as the issuer holds it (`GET /api/v1/core/agents/me/keys`). */
export interface AgentKeyRecord {
  /** RFC 7638 thumbprint: `keyid` in signatures, `cnf.jkt` in passports bound to it. */
  kid: string;
  algorithm: AgentKeyAlgorithm;
  jwk: AgentPublicJwk;
  label: string | null;
  status: "ACTIVE" | "REVOKED" | (string & {});
  createdAt: string;
  revokedAt: string | null;
}

/** What `rotateKey` did: the key now in use (registered, its directory signed) and the one revoked. */
export interface KeyRotation {
  previousKid: string;
  key: AgentKeyRecord;
  /** The new key pair; extractable when the SDK generated it, so it can be stored (`crypto.subtle.exportKey("jwk", ...)`). */
  signingKey: AgentKeyPair;
}

/** The signing key option: a key pair from the core, or a private JWK (`d` present). */
export type SigningKeyInput = AgentKeyPair | JsonWebKey;

export interface AgentKeyringDeps {
  http: HttpClient;
  agentHeaders: () => Record<string, string>;
  /** The issuer's URL (the server's public URL): proofs name it in `htu`, directory signatures cover its authority. */
  issuer: string;
  /** Wall clock in epoch ms, for proofs and signatures. */
  now: () => number;
  /** The key in use changed or was revoked: passports bound to the old one must not be presented. */
  onKeysChanged: () => void;
}

export class AgentKeyring {
  readonly #deps: AgentKeyringDeps;
  #current: Promise<AgentKeyPair> | undefined;
  /** The directory signature this client uploaded for the key in use, epoch seconds. */
  #directory: { kid: string; expires: number } | undefined;
  #renewing: Promise<unknown> | undefined;
  #renewAfter = Number.NEGATIVE_INFINITY;
  /** The last background renewal's error, for diagnostics. */
  lastRenewalError: unknown;

  constructor(deps: AgentKeyringDeps, input: SigningKeyInput | undefined) {
    this.#deps = deps;
    if (input === undefined) return;
    if (typeof input !== "object" || input === null) {
      throw new TypeError("AgentClient: signingKey must be an AgentKeyPair or a private JWK");
    }
    this.#current = toKeyPair(input);
    // Surfaced at first use; not an unhandled rejection meanwhile.
    this.#current.catch(() => {});
  }

  /** The key in use, or undefined when the client has none. */
  current(): Promise<AgentKeyPair | undefined> {
    return this.#current ?? Promise.resolve(undefined);
  }

  async #require(operation: string): Promise<AgentKeyPair> {
    const key = await this.current();
    if (key === undefined) throw new TypeError(`AgentClient.${operation}: no signingKey in the options`);
    return key;
  }

  /** A proof of possession of `key` for `POST <issuer><path>` (RFC 9449 §4.2 claims; `nonce` binds a challenge). */
  proof(key: AgentKeyPair, path: string, nonce?: string): Promise<string> {
    const htu = `${this.#deps.issuer.replace(/\/+$/, "")}${path}`;
    return createKeyProof(key, { htm: "POST", htu, nonce, iat: Math.floor(this.#deps.now() / 1000) });
  }

  /** Registers the key in use and uploads its directory signature. */
  async register(options: { label?: string; signal?: AbortSignal } = {}): Promise<AgentKeyRecord> {
    return this.#register(await this.#require("registerKey"), options);
  }

  async #register(
    key: AgentKeyPair,
    options: { label?: string; signal?: AbortSignal },
  ): Promise<AgentKeyRecord> {
    const { label, signal } = options;
    if (label !== undefined && (typeof label !== "string" || label.length > 64)) {
      throw new TypeError("registerKey: label must be a string of at most 64 characters");
    }
    const data = await this.#deps.http.send({
      method: "POST",
      path: KEYS_PATH,
      headers: { ...this.#deps.agentHeaders(), dpop: await this.proof(key, KEYS_PATH) },
      body: label === undefined ? {} : { label },
      // Not repeated behind the caller's back: a second registration of the key is AGENT_KEY_EXISTS.
      idempotent: false,
      signal,
    });
    const record = readKeyRecord(data);
    if (record.kid !== key.kid) throw invalid("agent key", "kid");
    await this.#upload(key, signal);
    return record;
  }

  async list(options: { signal?: AbortSignal } = {}): Promise<AgentKeyRecord[]> {
    const data = await this.#deps.http.send({
      method: "GET",
      path: KEYS_PATH,
      headers: this.#deps.agentHeaders(),
      idempotent: true,
      signal: options.signal,
    });
    if (!isRecord(data) || !Array.isArray(data.keys)) throw invalid("agent keys", "keys");
    return data.keys.map(readKeyRecord);
  }

  async revoke(kid: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#deps.http.send({
      method: "DELETE",
      path: `${KEYS_PATH}/${encodePathId(kid, "kid")}`,
      headers: this.#deps.agentHeaders(),
      // A repeat after a lost answer is AGENT_KEY_NOT_FOUND, never a second effect; still, say so to the caller.
      idempotent: false,
      signal: options.signal,
    });
    if ((await this.current().catch(() => undefined))?.kid === kid) this.#deps.onKeysChanged();
  }

  /**
   * Registers `next` (default: a new key of the same kind), uploads its
   * directory signature, switches to it, then revokes the old key. If the
   * revocation fails the switch stands: revoke `previousKid` again.
   */
  async rotate(
    next: SigningKeyInput | undefined,
    options: { label?: string; signal?: AbortSignal } = {},
  ): Promise<KeyRotation> {
    const previous = await this.#require("rotateKey");
    const signingKey = next === undefined ? await generateLike(previous) : await toKeyPair(next);
    if (signingKey.kid === previous.kid) throw new TypeError("rotateKey: the new key is the key in use");
    const key = await this.#register(signingKey, options);
    this.#current = Promise.resolve(signingKey);
    this.#deps.onKeysChanged();
    await this.revoke(previous.kid, options);
    return { previousKid: previous.kid, key, signingKey };
  }

  /** Signs the key directory with the key in use (valid 24 h) and uploads the signature. */
  async uploadDirectorySignature(
    options: { signal?: AbortSignal } = {},
  ): Promise<{ kid: string; expiresAt: number }> {
    const key = await this.#require("uploadDirectorySignature");
    const expires = await this.#upload(key, options.signal);
    return { kid: key.kid, expiresAt: expires };
  }

  async #upload(key: AgentKeyPair, signal?: AbortSignal): Promise<number> {
    const signed = await directorySignature(key, this.#deps.issuer, this.#deps.now() / 1000);
    await this.#deps.http.send({
      method: "PUT",
      path: `${KEYS_PATH}/${encodePathId(key.kid, "kid")}/directory-signature`,
      headers: this.#deps.agentHeaders(),
      body: { signature_input: signed.signatureInput, signature: signed.signature },
      idempotent: true,
      signal,
    });
    this.#directory = { kid: key.kid, expires: signed.expires };
    return signed.expires;
  }

  /**
   * Renews the directory signature in the background when this client has
   * not uploaded one for `key`, or less than 2 h of it remain; one at a
   * time, and after a failure not again for 5 minutes. Never throws: the
   * requests being signed do not depend on it.
   */
  renewDirectorySignatureIfDue(key: AgentKeyPair): void {
    const now = this.#deps.now();
    const held = this.#directory;
    if (held?.kid === key.kid && held.expires - now / 1000 > DIRECTORY_SIGNATURE_RENEW_SECONDS) return;
    if (this.#renewing !== undefined || now < this.#renewAfter) return;
    this.#renewing = this.#upload(key)
      .catch((error: unknown) => {
        this.lastRenewalError = error;
        this.#renewAfter = this.#deps.now() + RENEW_RETRY_MS;
      })
      .finally(() => {
        this.#renewing = undefined;
      });
  }
}

function isKeyPair(value: object): value is AgentKeyPair {
  const pair = value as Partial<AgentKeyPair>;
  return typeof pair.kid === "string" && typeof pair.publicJwk === "object" && pair.privateKey !== undefined;
}

async function toKeyPair(input: SigningKeyInput): Promise<AgentKeyPair> {
  return isKeyPair(input) ? input : importAgentKey(input as JsonWebKey);
}

/** A new key of the kind of `key`, extractable so the caller can store it. */
async function generateLike(key: AgentKeyPair): Promise<AgentKeyPair> {
  return generateAgentKey(key.algorithm === "ed25519" ? "Ed25519" : "P-256", { extractable: true });
}

/** One key of the issuer's answers (`{kid, alg, jwk, label, status, created_at, revoked_at}`). */
export function readKeyRecord(value: unknown): AgentKeyRecord {
  return readRecord(value, "agent key", {
    kid: str("kid", (kid) => /^[A-Za-z0-9_-]{43}$/.test(kid)),
    algorithm: (data, what) => {
      if (data.alg !== "ed25519" && data.alg !== "ecdsa-p256-sha256") throw invalid(what, "alg");
      return data.alg;
    },
    jwk: (data, what) => {
      try {
        const { kty, crv, x, y } = data.jwk as Record<string, unknown>;
        return checkAgentPublicJwk(y === undefined ? { kty, crv, x } : { kty, crv, x, y });
      } catch {
        throw invalid(what, "jwk");
      }
    },
    label: optStr("label"),
    status: str("status"),
    createdAt: timestamp("created_at"),
    revokedAt: optStr("revoked_at"),
  });
}
