/**
 * The site's check of a request's Web Bot Auth signature (RFC 9421 with the
 * `web-bot-auth` tag), against the passport it came with. Runs after the
 * passport verified; in this order, each refusal a core `SignatureError`
 * with its stable code (docs/web-bot-auth.md):
 *
 * 1. signature: a `web-bot-auth` member exists (SIGNATURE_MISSING), parses
 *    (SIGNATURE_MALFORMED), covers at least `@authority` and `authorization`
 *    (SIGNATURE_INCOMPLETE); `Signature-Agent`, when sent, names the
 *    configured issuer's directory of the passport's agent
 *    (SIGNATURE_AGENT_UNTRUSTED); the keyid is a key in that directory
 *    (SIGNATURE_KEY_UNKNOWN) and the signature verifies (SIGNATURE_INVALID);
 * 2. binding: the passport's `cnf.jkt` is that keyid (SIGNATURE_KEY_NOT_BOUND);
 * 3. freshness: created ≤ now + tolerance, expires > now, expires − created
 *    ≤ 300 s (SIGNATURE_NOT_YET_VALID, SIGNATURE_EXPIRED);
 * 4. replay: a nonce, not seen before within its signature's lifetime
 *    (SIGNATURE_REPLAYED).
 *
 * When: always with a key-bound passport (a bound passport without the
 * key's signature is refused, SIGNATURE_MISSING) or when the request carries
 * signature headers; with neither, an unbound passport passes as LIME's
 * clients send it, unless `requireSignature`.
 */
import { SignatureError } from "@lime-ts/core/errors";
import {
  type AgentKeyAlgorithm,
  algorithmOf,
  type ParsedSignature,
  parseSignatures,
  verifyParsedSignature,
} from "@lime-ts/core/http-signatures";
import type { PassportContext } from "@lime-ts/core/passport";
import { WEB_BOT_AUTH_TAG } from "../internal/web-bot-auth.ts";
import type { KeyDirectory } from "./key-directory.ts";
import type { NonceReplayCache } from "./replay-cache.ts";

/** Longest signature lifetime (expires − created) accepted, in seconds; also the replay window's bound. */
export const MAX_SIGNATURE_LIFETIME_SECONDS = 300;
/** Components every accepted signature covers: the host it was meant for, and the passport it travels with. */
export const REQUIRED_COMPONENTS = ["@authority", "authorization"] as const;
/** Longest nonce remembered (a 64-byte nonce in base64 is 88 characters). */
const MAX_NONCE_LENGTH = 128;
/** RFC 7638 SHA-256 thumbprint, base64url: 43 characters. */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/** What the guard learned from a verified request signature. Times in seconds (NumericDate). */
export interface RequestSignature {
  /** The agent key that signed: its RFC 7638 thumbprint, equal to the passport's `cnf.jkt`. */
  keyId: string;
  algorithm: AgentKeyAlgorithm;
  created: number;
  expires: number;
  nonce: string;
  /** The covered components, in the order signed. */
  components: string[];
}

/** A verified passport, plus the request signature when one was checked. */
export interface AgentRequestContext extends PassportContext {
  signature?: RequestSignature;
}

export interface RequestSignatureCheckerOptions {
  directory: KeyDirectory;
  replay: NonceReplayCache;
  requireSignature: boolean;
  clockToleranceSec: number;
  now: () => number;
}

export class RequestSignatureChecker {
  readonly #directory: KeyDirectory;
  readonly #replay: NonceReplayCache;
  readonly #requireSignature: boolean;
  readonly #clockToleranceSec: number;
  readonly #now: () => number;

  constructor(options: RequestSignatureCheckerOptions) {
    this.#directory = options.directory;
    this.#replay = options.replay;
    this.#requireSignature = options.requireSignature;
    this.#clockToleranceSec = options.clockToleranceSec;
    this.#now = options.now;
  }

  /** The verified signature, `undefined` when none was needed and none came; else throws `SignatureError`. */
  async check(request: Request, passport: PassportContext): Promise<RequestSignature | undefined> {
    // `cnf.jkt` (RFC 7800 §3.1, RFC 9449 §6), checked by the core when the passport verified.
    const boundKey = passport.boundKeyThumbprint;
    const sent = request.headers.has("signature") || request.headers.has("signature-input");
    if (!sent) {
      if (boundKey === undefined && !this.#requireSignature) return undefined;
      throw new SignatureError(
        "SIGNATURE_MISSING",
        boundKey === undefined
          ? "this site requires a signed request"
          : "the passport is bound to a key, and the request is not signed with it",
      );
    }
    const signature = pickSignature(parseSignatures(request, { tag: WEB_BOT_AUTH_TAG }), boundKey);
    const components = signature.components.map((component) => component.name);
    for (const required of REQUIRED_COMPONENTS) {
      if (!signature.components.some((c) => c.name === required && c.params?.req === undefined)) {
        throw new SignatureError("SIGNATURE_INCOMPLETE", `the signature does not cover "${required}"`);
      }
    }
    this.#checkSignatureAgent(request, passport.agentId);
    const keyId = signature.params.keyid;
    const key = THUMBPRINT.test(keyId) ? await this.#directory.findKey(passport.agentId, keyId) : undefined;
    if (key === undefined) {
      throw new SignatureError(
        "SIGNATURE_KEY_UNKNOWN",
        "the signing key is not in the agent's key directory",
      );
    }
    if (!(await verifyParsedSignature(signature, key))) {
      throw new SignatureError("SIGNATURE_INVALID", "the request signature does not verify");
    }
    if (boundKey !== keyId) {
      throw new SignatureError("SIGNATURE_KEY_NOT_BOUND", "the passport is not bound to the signing key");
    }
    const { created, expires } = this.#checkFreshness(signature);
    const nonce = signature.params.nonce;
    if (nonce === undefined || nonce === "" || nonce.length > MAX_NONCE_LENGTH) {
      throw new SignatureError("SIGNATURE_REPLAYED", "the signature carries no usable nonce");
    }
    if (!this.#replay.remember(`${keyId} ${nonce}`, expires * 1000, this.#now())) {
      throw new SignatureError("SIGNATURE_REPLAYED", "this signature's nonce was already used");
    }
    return { keyId, algorithm: algorithmOf(key), created, expires, nonce, components };
  }

  /** `Signature-Agent` may only name where the key is looked up anyway: the issuer's directory of this agent. */
  #checkSignatureAgent(request: Request, agentId: string): void {
    const header = request.headers.get("signature-agent");
    if (header === null) return;
    const expected = this.#directory.urlFor(agentId);
    if (readSfString(header.trim()) !== expected) {
      throw new SignatureError(
        "SIGNATURE_AGENT_UNTRUSTED",
        "Signature-Agent does not name the issuer's key directory of this agent",
      );
    }
  }

  #checkFreshness(signature: ParsedSignature): { created: number; expires: number } {
    const now = this.#now() / 1000;
    const { created, expires } = signature.params;
    if (created > now + this.#clockToleranceSec) {
      throw new SignatureError("SIGNATURE_NOT_YET_VALID", "the signature was created in the future");
    }
    if (expires === undefined || expires <= now) {
      throw new SignatureError("SIGNATURE_EXPIRED", "the signature has expired (or names no expiry)");
    }
    if (expires - created > MAX_SIGNATURE_LIFETIME_SECONDS) {
      throw new SignatureError(
        "SIGNATURE_EXPIRED",
        `the signature lives longer than ${MAX_SIGNATURE_LIFETIME_SECONDS} s`,
      );
    }
    return { created, expires };
  }
}

/** The member to check: the one signed by the bound key when there are several, else the first. */
function pickSignature(members: ParsedSignature[], boundKey: string | undefined): ParsedSignature {
  const chosen = members.find((member) => member.params.keyid === boundKey) ?? members[0];
  if (chosen === undefined) {
    throw new SignatureError("SIGNATURE_MISSING", `no "${WEB_BOT_AUTH_TAG}" signature on the request`);
  }
  return chosen;
}

/** An RFC 8941 §3.3.3 sf-string's value, or `undefined` when the text is not exactly one. */
export function readSfString(text: string): string | undefined {
  const match = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(text);
  return match?.[1]?.replace(/\\(["\\])/g, "$1");
}
