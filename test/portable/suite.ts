/**
 * The portable core suite: the same cases, on the same vectors, in Bun, Node,
 * Deno and Chromium. It imports only `core/index.ts` (the public surface) and
 * JSON vectors, so whatever passes here passes for every runtime's users.
 */
import {
  createJwks,
  createLocalJwks,
  generateSigningKey,
  PASSPORT_TYP,
  type PassportClaims,
  powDigestHex,
  SITE_LOGIN_AUDIENCE,
  signPassport,
  solve,
  verify,
  verifyPassport,
} from "../../core/index.ts";
import powVectors from "../core/pow/vectors.json" with { type: "json" };
import { assert, assertEqual, type PortableCase, rejectsWithCode } from "./harness.ts";

const ISSUER = "https://lime.portable.test";
const NOW = 1_790_000_000;

function loginClaims(overrides: Partial<PassportClaims> = {}): PassportClaims {
  return {
    iss: ISSUER,
    sub: "7f1c2a90-3b5e-4d7a-9c1e-2f8b6a4d0e11",
    aud: SITE_LOGIN_AUDIENCE,
    iat: NOW,
    exp: NOW + 120,
    jti: "b0e7e2c4-1d2f-4a5b-8c9d-0e1f2a3b4c5d",
    user_id: "0d4f5e6a-7b8c-4d9e-8f01-23456789abcd",
    owner_kyc_level: 1,
    agent_name: "Portable agent",
    passport_version: 1,
    request_id: "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
    site_id: "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
    ...overrides,
  };
}

const verifyOptions = {
  issuer: ISSUER,
  audience: SITE_LOGIN_AUDIENCE,
  requestId: "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
  siteId: "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
  now: NOW + 10,
};

const powCases: PortableCase[] = powVectors.vectors.flatMap((vector) => [
  {
    name: `pow vector d=${vector.difficulty}: digest and verify agree with the table`,
    run: () => {
      assertEqual(powDigestHex(vector.challenge, vector.nonce), vector.digest, "digest");
      assert(verify(vector.challenge, vector.difficulty, vector.nonce), "the table's nonce verifies");
    },
  },
  {
    name: `pow vector d=${vector.difficulty}: solve finds the table's smallest nonce`,
    run: async () => {
      const { nonce, hashes } = await solve(vector.challenge, vector.difficulty);
      assertEqual(nonce, vector.nonce, "nonce");
      assert(hashes >= Number(vector.nonce) + 1, "hashes counts every candidate tried");
    },
  },
]);

export const portableCases: PortableCase[] = [
  ...powCases,
  {
    name: "pow: two workers find the same smallest nonce as one",
    run: async () => {
      const vector = powVectors.vectors.find((v) => v.difficulty >= 15) ?? powVectors.vectors.at(-1)!;
      const { nonce } = await solve(vector.challenge, vector.difficulty, { workers: 2 });
      assertEqual(nonce, vector.nonce, "nonce with workers");
    },
  },
  {
    name: "pow: a non-canonical nonce never verifies",
    run: () => {
      const vector = powVectors.vectors[0]!;
      assert(!verify(vector.challenge, vector.difficulty, `0${vector.nonce}`), "leading zero refused");
    },
  },
  {
    name: "pow: a malformed challenge is refused with POW_INVALID_CHALLENGE",
    run: () => rejectsWithCode(() => verify("xyz", 15, "1"), "POW_INVALID_CHALLENGE", "challenge"),
  },
  {
    name: "passport: sign then verify through a JWKS that went through JSON",
    run: async () => {
      const key = await generateSigningKey();
      const token = await signPassport(loginClaims(), key);
      const jwks = JSON.parse(JSON.stringify(createJwks([key.publicJwk])));
      const context = await verifyPassport(token, createLocalJwks(jwks), verifyOptions);
      assertEqual(context.agentId, loginClaims().sub, "agentId");
      assertEqual(context.ownerKycLevel, 1, "ownerKycLevel");
      assertEqual(context.requestId, verifyOptions.requestId, "requestId");
      assertEqual(JSON.parse(atob(token.split(".")[0]!)).typ, PASSPORT_TYP, "typ header");
    },
  },
  {
    name: "passport: an expired passport is refused with PASSPORT_EXPIRED",
    run: async () => {
      const key = await generateSigningKey();
      const token = await signPassport(loginClaims(), key);
      await rejectsWithCode(
        () => verifyPassport(token, createJwks([key.publicJwk]), { ...verifyOptions, now: NOW + 3600 }),
        "PASSPORT_EXPIRED",
        "expired",
      );
    },
  },
  {
    name: "passport: a token signed by another key is refused with PASSPORT_UNKNOWN_KID",
    run: async () => {
      const [signer, other] = await Promise.all([generateSigningKey(), generateSigningKey()]);
      const token = await signPassport(loginClaims(), signer);
      await rejectsWithCode(
        () => verifyPassport(token, createJwks([other.publicJwk]), verifyOptions),
        "PASSPORT_UNKNOWN_KID",
        "unknown kid",
      );
    },
  },
  {
    name: "passport: a flipped signature bit is refused with PASSPORT_BAD_SIGNATURE",
    run: async () => {
      const key = await generateSigningKey();
      const token = await signPassport(loginClaims(), key);
      const [h, p, s] = token.split(".") as [string, string, string];
      const tampered = `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
      await rejectsWithCode(
        () => verifyPassport(tampered, createJwks([key.publicJwk]), verifyOptions),
        "PASSPORT_BAD_SIGNATURE",
        "tampered",
      );
    },
  },
  {
    name: "jwks: the published document has public members only",
    run: async () => {
      const key = await generateSigningKey();
      const [jwk] = createJwks([key.publicJwk]).keys;
      assert(jwk !== undefined, "one key");
      assertEqual(Object.keys(jwk).sort().join(","), "alg,e,kid,kty,n,use", "members");
    },
  },
];
