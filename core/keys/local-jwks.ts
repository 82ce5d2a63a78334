import { KeyError, PassportError } from "../errors.ts";
import { nodeRsa } from "../passport/node-crypto.ts";
import {
  createRs256Verifier,
  RS256_BACKEND_CHOICES,
  type Rs256BackendChoice,
  type Rs256Verifier,
} from "../passport/rs256.ts";
import {
  checkRsaPublicParts,
  hasPrivateMember,
  importRs256PublicKey,
  isPlainObject,
  RS256,
} from "./rsa-jwk.ts";

/** More keys than any issuer publishes; beyond it, checking each key is work an attacker chose. */
export const MAX_JWKS_KEYS = 100;

interface Candidate {
  readonly n: string;
  readonly e: string;
  key: CryptoKey | undefined;
  pending: Promise<CryptoKey> | undefined;
  verifier: Rs256Verifier | undefined;
  pendingVerifier: Promise<Rs256Verifier> | undefined;
}

export interface LocalJwksOptions {
  /**
   * What checks signatures: "auto" (the default) is `node:crypto` in Bun and
   * Node (synchronous, several times faster there than WebCrypto) and
   * WebCrypto elsewhere; "webcrypto" or "node-crypto" force one (forcing
   * "node-crypto" where it is absent fails verification with
   * PASSPORT_INVALID_OPTION).
   */
  backend?: Rs256BackendChoice;
}

/**
 * Could this JWK verify an RS256 signature? RFC 7517 §4.2–4.4: a key whose
 * `use`, `key_ops` or `alg` says otherwise is never used for RS256, whatever
 * a token's header claims.
 */
function isRs256Candidate(jwk: Record<string, unknown>): boolean {
  if (jwk.kty !== "RSA") return false;
  if (jwk.alg !== undefined && jwk.alg !== RS256) return false;
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  const ops = jwk.key_ops;
  if (ops !== undefined && !(Array.isArray(ops) && ops.includes("verify"))) return false;
  return true;
}

/**
 * A JWKS document prepared for local verification: RS256 candidates
 * checked once, each imported on first use and cached by kid, so a warm
 * verification costs a Map lookup.
 */
export class LocalJwks {
  readonly #byKid = new Map<string, Candidate[]>();
  readonly #backend: Rs256BackendChoice;

  /** Use `createLocalJwks`. */
  constructor(document: unknown, options: LocalJwksOptions = {}) {
    const backend = (isPlainObject(options) ? (options.backend ?? "auto") : undefined) as Rs256BackendChoice;
    if (!RS256_BACKEND_CHOICES.includes(backend)) {
      throw new KeyError(
        "KEY_INVALID_OPTION",
        `options.backend must be one of ${RS256_BACKEND_CHOICES.join(", ")}`,
      );
    }
    this.#backend = backend;
    if (!isPlainObject(document) || !Array.isArray(document.keys)) {
      throw new KeyError("JWKS_MALFORMED", 'a JWKS document is an object with a "keys" array');
    }
    if (document.keys.length > MAX_JWKS_KEYS) {
      throw new KeyError("JWKS_MALFORMED", `a JWKS document holds at most ${MAX_JWKS_KEYS} keys`);
    }
    for (const jwk of document.keys as unknown[]) {
      if (!isPlainObject(jwk) || typeof jwk.kty !== "string") {
        throw new KeyError("JWKS_MALFORMED", 'every JWKS entry must be an object with a string "kty"');
      }
      if (hasPrivateMember(jwk)) {
        throw new KeyError(
          "KEY_PRIVATE_MATERIAL",
          "the JWKS holds private or symmetric key material; refusing it",
        );
      }
      if (jwk.kid !== undefined && typeof jwk.kid !== "string") {
        throw new KeyError("JWKS_MALFORMED", 'a JWKS entry "kid" must be a string');
      }
      // A key without kid can never be selected: LIME tokens always name their key.
      if (jwk.kid === undefined || !isRs256Candidate(jwk)) continue;
      const { n, e } = checkRsaPublicParts(jwk);
      const candidates = this.#byKid.get(jwk.kid) ?? [];
      candidates.push({
        n,
        e,
        key: undefined,
        pending: undefined,
        verifier: undefined,
        pendingVerifier: undefined,
      });
      this.#byKid.set(jwk.kid, candidates);
    }
  }

  /** The kids usable for RS256, in document order. */
  get kids(): string[] {
    return [...this.#byKid.keys()];
  }

  /**
   * PASSPORT_UNKNOWN_KID when no RS256 key has `kid`, PASSPORT_AMBIGUOUS_KID
   * when several do (we never try keys in turn: which key signed must be
   * unambiguous).
   */
  #candidate(kid: string): Candidate {
    const candidates = this.#byKid.get(kid);
    if (candidates === undefined) {
      throw new PassportError("PASSPORT_UNKNOWN_KID", "no RS256 key in the JWKS has this kid");
    }
    if (candidates.length > 1) {
      throw new PassportError("PASSPORT_AMBIGUOUS_KID", "several RS256 keys in the JWKS share this kid");
    }
    return candidates[0]!;
  }

  /**
   * What checks signatures made with `kid`'s key on this set's backend,
   * prepared on first use and then returned synchronously. Fails as
   * `resolve` does on an unknown or ambiguous kid.
   */
  verifier(kid: string): Rs256Verifier | Promise<Rs256Verifier> {
    const candidate = this.#candidate(kid);
    if (candidate.verifier !== undefined) return candidate.verifier;
    candidate.pendingVerifier ??= nodeRsa()
      .then((api) => createRs256Verifier(candidate.n, candidate.e, this.#backend, api))
      .then((verifier) => {
        candidate.verifier = verifier;
        return verifier;
      });
    return candidate.pendingVerifier;
  }

  /**
   * The WebCrypto key for `kid`: PASSPORT_UNKNOWN_KID when no RS256 key
   * has it, PASSPORT_AMBIGUOUS_KID when several do. Synchronous once warm.
   */
  resolve(kid: string): CryptoKey | Promise<CryptoKey> {
    const candidate = this.#candidate(kid);
    if (candidate.key !== undefined) return candidate.key;
    candidate.pending ??= importRs256PublicKey(candidate.n, candidate.e).then((key) => {
      candidate.key = key;
      return key;
    });
    return candidate.pending;
  }
}

/**
 * Prepares a JWKS document (RFC 7517 §5) for local verification. The whole
 * document is refused when it is malformed or holds over 100 keys
 * (JWKS_MALFORMED), holds any private or symmetric member
 * (KEY_PRIVATE_MATERIAL: such a document is leaking secrets and cannot be
 * trusted), or any RS256-usable key is weak (KEY_TOO_SMALL, KEY_WEAK,
 * KEY_INVALID). Keys of other types or uses are
 * kept out of RS256 selection. `options.backend` chooses what checks
 * signatures (see `LocalJwksOptions`; docs/decisions/passport-verification.md).
 *
 * @example
 * const jwks = createLocalJwks(await (await fetch("https://lime.example/.well-known/jwks.json")).json());
 * const passport = await verifyPassport(token, jwks, { issuer, audience });
 */
export function createLocalJwks(jwksDocument: unknown, options?: LocalJwksOptions): LocalJwks {
  return new LocalJwks(jwksDocument, options);
}
