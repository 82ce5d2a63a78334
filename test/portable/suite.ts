/**
 * The portable core suite: the same cases, on the same vectors, in Bun, Node,
 * Deno and Chromium. It imports only the public entry points (`core/index.ts`,
 * `core/http-signatures/index.ts`) and JSON vectors, so whatever passes here
 * passes for every runtime's users.
 */

import {
  type AgentKeyPair,
  createKeyProof,
  generateAgentKey,
  parseSignatures,
  signatureBase,
  signMessage,
  signSignatureBase,
  verifyKeyProof,
  verifyParsedSignature,
  verifySignatureBase,
} from "../../core/http-signatures/index.ts";
import {
  createJwks,
  createLocalJwks,
  createSolver,
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
import {
  base64ToBytes,
  example,
  rfcEd25519Key,
  rfcPublicJwk,
  rfcRequest,
  rfcResponse,
} from "../core/http-signatures/fixtures.ts";
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

/** The bytes inside a `label=:base64:` Signature member. */
function signatureMemberBytes(member: string): Uint8Array {
  return base64ToBytes(member.slice(member.indexOf(":") + 1, -1));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Signs a request as the SDK does (Web Bot Auth components), parses it back and verifies it. */
async function signedRoundTrip(key: AgentKeyPair): Promise<void> {
  const message = {
    method: "POST",
    url: "https://shop.portable.test/orders?id=7",
    headers: new Headers({
      authorization: "AgentPassport a.b.c",
      "signature-agent": '"https://lime.portable.test/d"',
    }),
  };
  const headers = await signMessage(message, key, {
    components: ["@method", "@authority", "@path", "@query", "signature-agent", "authorization"],
    created: NOW,
    expires: NOW + 60,
    nonce: "portable-nonce",
    tag: "web-bot-auth",
  });
  message.headers.set("Signature-Input", headers.signatureInput);
  message.headers.set("Signature", headers.signature);
  const [parsed] = parseSignatures(message, { tag: "web-bot-auth" });
  assert(parsed !== undefined, "one signature parsed");
  assertEqual(parsed.params.keyid, key.kid, "keyid");
  assert(await verifyParsedSignature(parsed, key.publicJwk), "verifies with its key");
  const other = await generateAgentKey(key.algorithm === "ed25519" ? "Ed25519" : "P-256");
  assert(!(await verifyParsedSignature(parsed, other.publicJwk)), "another key does not verify");
}

const httpSignatureCases: PortableCase[] = [
  {
    name: "http-signatures: RFC 9421 B.2.6 signature base and Ed25519 signature reproduced byte for byte",
    run: async () => {
      const b26 = example("B.2.6");
      const message = rfcRequest();
      assertEqual(signatureBase(message, b26.components, b26.params), b26.base, "signature base");
      const key = await rfcEd25519Key();
      const headers = await signMessage(message, key, { components: b26.components, created: 1618884473 });
      assert(headers.signatureInput.startsWith("sig1=("), "signature input");
      const [parsed] = parseSignatures(
        rfcRequest({ "Signature-Input": b26.signatureInput, Signature: b26.signature }),
      );
      assert(parsed !== undefined && parsed.base === b26.base, "published headers parse back to the base");
      assert(await verifyParsedSignature(parsed, key.publicJwk), "published signature verifies");
      const signature = await signSignatureBase(b26.base, key);
      assert(sameBytes(signature, signatureMemberBytes(b26.signature)), "Ed25519 signature equals the RFC's");
    },
  },
  {
    name: "http-signatures: RFC 9421 B.2.4 published ECDSA P-256 signature verifies",
    run: async () => {
      const b24 = example("B.2.4");
      assertEqual(signatureBase(rfcResponse(), b24.components, b24.params), b24.base, "signature base");
      const jwk = await rfcPublicJwk("test-key-ecc-p256");
      assert(
        await verifySignatureBase(b24.base, signatureMemberBytes(b24.signature), jwk),
        "published signature verifies",
      );
    },
  },
  {
    name: "http-signatures: Ed25519 sign, parse and verify round trip",
    run: async () => signedRoundTrip(await generateAgentKey("Ed25519")),
  },
  {
    name: "http-signatures: ECDSA P-256 sign, parse and verify round trip",
    run: async () => signedRoundTrip(await generateAgentKey("P-256")),
  },
  {
    name: "http-signatures: a key proof verifies, and a wrong htu is refused with KEY_PROOF_INVALID",
    run: async () => {
      const key = await generateAgentKey("P-256");
      const htu = "https://lime.portable.test/api/v1/core/agents/me/keys";
      const proof = await createKeyProof(key, { htm: "POST", htu, iat: NOW });
      const verified = await verifyKeyProof(proof, { htm: "POST", htu, now: NOW });
      assertEqual(verified.kid, key.kid, "kid");
      await rejectsWithCode(
        () => verifyKeyProof(proof, { htm: "POST", htu: "https://lime.portable.test/other", now: NOW }),
        "KEY_PROOF_INVALID",
        "htu",
      );
    },
  },
];

export const portableCases: PortableCase[] = [
  ...powCases,
  ...httpSignatureCases,
  {
    name: "pow: two workers find the same smallest nonce as one",
    run: async () => {
      const vector = powVectors.vectors.find((v) => v.difficulty >= 15) ?? powVectors.vectors.at(-1)!;
      const { nonce } = await solve(vector.challenge, vector.difficulty, { workers: 2 });
      assertEqual(nonce, vector.nonce, "nonce with workers");
    },
  },
  {
    name: "pow: a kept solver finds every vector's smallest nonce on the same workers, then closes",
    run: async () => {
      // Shared memory where the runtime has it; a page without cross-origin isolation takes one message per batch.
      const solver = createSolver({ workers: 2 });
      try {
        for (const vector of powVectors.vectors) {
          const { nonce } = await solver.solve(vector.challenge, vector.difficulty);
          assertEqual(nonce, vector.nonce, `kept solver, d=${vector.difficulty}`);
        }
      } finally {
        solver.close();
      }
      const vector = powVectors.vectors[0]!;
      await rejectsWithCode(
        () => solver.solve(vector.challenge, vector.difficulty),
        "POW_SOLVER_CLOSED",
        "a closed solver",
      );
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
