import { KeyError } from "../errors.ts";
import { checkRsaPublicParts, hasPrivateMember, isPlainObject, type PublicJwk, RS256 } from "./rsa-jwk.ts";
import { computeKid } from "./thumbprint.ts";

/** A JSON Web Key Set document (RFC 7517 §5) as LIME publishes it. */
export interface JsonWebKeySet {
  keys: PublicJwk[];
}

/**
 * Builds the public JWK of an RSA key (public or private) on purpose:
 * exactly `kty n e kid alg use`, with `kid` recomputed as the RFC 7638
 * thumbprint. This is the one place where private members are dropped.
 *
 * @example
 * const publicJwk = await toPublicJwk(await exportPrivateJwk(key));
 */
export async function toPublicJwk(jwk: unknown): Promise<PublicJwk> {
  if (!isPlainObject(jwk)) throw new KeyError("KEY_INVALID", "toPublicJwk: the JWK must be an object");
  const { n, e } = checkRsaPublicParts(jwk);
  const kid = await computeKid({ kty: "RSA", n, e });
  return { kty: "RSA", n, e, kid, alg: RS256, use: "sig" };
}

/**
 * The JWKS document to publish (RFC 7517 §5): each key reduced to exactly
 * `kty, n, e, kid, alg, use`. Unlike `toPublicJwk` it never strips anything
 * silently: a key carrying a private member is a bug upstream and throws
 * KEY_PRIVATE_MATERIAL; two keys with one kid throw JWKS_DUPLICATE_KID.
 *
 * @example
 * app.get("/.well-known/jwks.json", () => createJwks([current.publicJwk, next.publicJwk]))
 */
export function createJwks(publicJwks: readonly PublicJwk[]): JsonWebKeySet {
  if (!Array.isArray(publicJwks)) {
    throw new KeyError("JWKS_MALFORMED", "createJwks: expected an array of public JWKs");
  }
  const seen = new Set<string>();
  const keys = publicJwks.map((jwk: unknown): PublicJwk => {
    if (!isPlainObject(jwk)) throw new KeyError("JWKS_MALFORMED", "createJwks: every key must be an object");
    if (hasPrivateMember(jwk)) {
      throw new KeyError(
        "KEY_PRIVATE_MATERIAL",
        "createJwks: a key carries private members; refusing to publish it",
      );
    }
    const { n, e } = checkRsaPublicParts(jwk);
    if (typeof jwk.kid !== "string" || jwk.kid.length === 0) {
      throw new KeyError("KEY_INVALID", "createJwks: every key needs its kid (use toPublicJwk)");
    }
    if ((jwk.alg !== undefined && jwk.alg !== RS256) || (jwk.use !== undefined && jwk.use !== "sig")) {
      throw new KeyError("KEY_UNSUPPORTED", 'createJwks: only RS256 keys with use "sig" are published');
    }
    if (seen.has(jwk.kid)) throw new KeyError("JWKS_DUPLICATE_KID", "createJwks: two keys share one kid");
    seen.add(jwk.kid);
    return { kty: "RSA", n, e, kid: jwk.kid, alg: RS256, use: "sig" };
  });
  return { keys };
}
