import { encodeBase64url } from "../encoding/base64url.ts";
import { KeyError } from "../errors.ts";
import { checkRsaPublicParts, isPlainObject } from "./rsa-jwk.ts";

/**
 * The key id LIME publishes: the RFC 7638 JWK thumbprint with SHA-256.
 *
 * RFC 7638 §3.2: for an RSA key the hash input is the JSON object of the
 * required members `e`, `kty`, `n` in lexicographic order with no white
 * space. Those values are base64url, so no JSON escaping can arise.
 * The key is checked first (RSA, 2048+ bits, sane exponent), so a kid is
 * never minted for a key LIME would refuse.
 *
 * @example
 * await computeKid({ kty: "RSA", n: "0vx7...", e: "AQAB" }) // "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" (RFC 7638 §3.1)
 */
export async function computeKid(publicJwk: unknown): Promise<string> {
  if (!isPlainObject(publicJwk)) throw new KeyError("KEY_INVALID", "computeKid: the JWK must be an object");
  const { n, e } = checkRsaPublicParts(publicJwk);
  const input = `{"e":"${e}","kty":"RSA","n":"${n}"}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(input));
  return encodeBase64url(new Uint8Array(digest));
}
