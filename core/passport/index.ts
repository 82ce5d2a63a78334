export {
  BINDING_AUDIENCE,
  BINDING_MAX_LIFETIME_SECONDS,
  BINDING_PASSPORT_TYP,
  BINDING_PASSPORT_VERSION,
  type BindingPassportClaims,
  type BindingPassportContext,
  signBindingPassport,
  type VerifyBindingPassportOptions,
  verifyBindingPassport,
} from "./binding.ts";
export {
  ACCESS_TOKEN_TYP,
  DEFAULT_PASSPORT_AUDIENCE,
  type JwtClaims,
  PASSPORT_TYP,
  PASSPORT_VERSION,
  type PassportClaims,
  type PassportContext,
  SITE_LOGIN_AUDIENCE,
  SITE_LOGIN_MAX_LIFETIME_SECONDS,
} from "./claims.ts";
export { type SignJwtOptions, signJwt, signPassport } from "./sign.ts";
export {
  DEFAULT_MAX_TOKEN_BYTES,
  type JwksInput,
  type JwsHeader,
  type VerifyJwsOptions,
  type VerifyJwtOptions,
  type VerifyPassportOptions,
  verifyJwt,
  verifyPassport,
} from "./verify.ts";
