export { createJwks, type JsonWebKeySet, toPublicJwk } from "./jwks.ts";
export { createKeySet, KeySet, type KeySetOptions, type RetiredKey } from "./key-set.ts";
export { createLocalJwks, LocalJwks, type LocalJwksOptions } from "./local-jwks.ts";
export { MIN_MODULUS_BITS, type PrivateJwk, type PublicJwk, RS256 } from "./rsa-jwk.ts";
export {
  exportPrivateJwk,
  type GenerateSigningKeyOptions,
  generateSigningKey,
  type ImportSigningKeyOptions,
  importSigningKey,
  type SigningKey,
} from "./signing-key.ts";
export { computeKid } from "./thumbprint.ts";
