import { encodeBase64url, encodeBase64urlText } from "../encoding/base64url.ts";
import { PassportError } from "../errors.ts";
import { isPlainObject } from "../keys/rsa-jwk.ts";
import { isSigningKey, type SigningKey } from "../keys/signing-key.ts";
import {
  checkJwtClaims,
  checkPassportClaims,
  type JwtClaims,
  PASSPORT_TYP,
  type PassportClaims,
} from "./claims.ts";
import { rs256Sign } from "./rs256.ts";
import { DEFAULT_MAX_TOKEN_BYTES } from "./verify.ts";

export interface SignJwtOptions {
  /** JWS `typ` (RFC 7515 §4.1.9), e.g. "passport+jwt" or "at+jwt" (RFC 9068). */
  typ: string;
}

/** A media type without its "application/" prefix (RFC 7515 §4.1.9 recommends the short form). */
const TYP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$/;

function readTyp(options: unknown, fallback: string | undefined): string {
  if (typeof options !== "object" || options === null) {
    throw new PassportError("PASSPORT_INVALID_OPTION", "sign options must be an object");
  }
  const typ = (options as { typ?: unknown }).typ ?? fallback;
  if (typeof typ !== "string" || !TYP_PATTERN.test(typ)) {
    throw new PassportError(
      "PASSPORT_INVALID_OPTION",
      'typ must be a short media type such as "passport+jwt"',
    );
  }
  return typ;
}

/**
 * The JSON that will be signed, checked after a JSON round trip so that
 * what is validated is exactly what is signed (getters, `toJSON` and
 * `undefined` members cannot differ between the two).
 */
function serializeClaims(claims: unknown): { json: string; parsed: Record<string, unknown> } {
  let json: unknown;
  try {
    json = JSON.stringify(claims);
  } catch (cause) {
    throw new PassportError("PASSPORT_INVALID_CLAIM", "claims are not serializable as JSON", { cause });
  }
  const parsed: unknown = typeof json === "string" ? JSON.parse(json) : undefined;
  if (!isPlainObject(parsed)) {
    throw new PassportError("PASSPORT_INVALID_CLAIM", "claims must be a JSON object");
  }
  return { json: json as string, parsed };
}

async function signChecked(json: string, key: SigningKey, typ: string): Promise<string> {
  if (!isSigningKey(key)) throw new PassportError("PASSPORT_INVALID_OPTION", "key must be a SigningKey");
  const header = JSON.stringify({ alg: key.alg, typ, kid: key.kid });
  const signingInput = `${encodeBase64urlText(header)}.${encodeBase64urlText(json)}`;
  const signature = await rs256Sign(key.privateKey, new TextEncoder().encode(signingInput));
  const token = `${signingInput}.${encodeBase64url(signature)}`;
  // Never mint a token a default verifier would refuse unread.
  if (token.length > DEFAULT_MAX_TOKEN_BYTES) {
    throw new PassportError("PASSPORT_TOO_LARGE", `the token exceeds ${DEFAULT_MAX_TOKEN_BYTES} bytes`);
  }
  return token;
}

/**
 * Signs any LIME JWT profile as an RS256 compact JWS with header
 * `{ alg, typ, kid }` (RFC 7515 §7.1). The registered claims must be
 * well formed (`checkJwtClaims`); profile claims are the caller's. Use it
 * for OAuth access tokens: `signJwt(claims, key, { typ: ACCESS_TOKEN_TYP })`.
 *
 * @example
 * const at = await signJwt({ iss, sub, aud: resource, iat, exp, jti, client_id, scope }, key, { typ: "at+jwt" });
 */
export async function signJwt(claims: JwtClaims, key: SigningKey, options: SignJwtOptions): Promise<string> {
  const typ = readTyp(options, undefined);
  const { json, parsed } = serializeClaims(claims);
  checkJwtClaims(parsed);
  return signChecked(json, key, typ);
}

/**
 * Signs a passport: the passport claim set is checked in full
 * (docs/passport-claims.md), `typ` defaults to "passport+jwt".
 *
 * @example
 * const passport = await signPassport({ iss, sub: agentId, aud: "lime-passport", iat, exp: iat + 3600, jti,
 *   user_id, owner_kyc_level: 1, agent_name: "Research bot", passport_version: 1 }, keySet.current);
 */
export async function signPassport(
  claims: PassportClaims,
  key: SigningKey,
  options: Partial<SignJwtOptions> = {},
): Promise<string> {
  const typ = readTyp(options, PASSPORT_TYP);
  const { json, parsed } = serializeClaims(claims);
  checkPassportClaims(parsed);
  return signChecked(json, key, typ);
}
