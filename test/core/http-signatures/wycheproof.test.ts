/**
 * Wycheproof JOSE vectors (test/vectors/wycheproof, C2SP/wycheproof) for the
 * agent-key side: the ES256 JWS groups through the compact-JWS layer under
 * key proofs (`decodeCompactJws` + `verifyJwsSignature` with the group's
 * public key), and the P-256 key groups of json_web_key_test.json through
 * `checkAgentPublicJwk` and the WebCrypto import. Neither file has EdDSA
 * cases. "acceptable" results: none occur in these groups; a test fails if
 * one appears, so the decision is made when it does.
 */
import { describe, expect, test } from "bun:test";
import { isLimeError } from "../../../core/errors.ts";
import { checkAgentPublicJwk, importAgentPublicKey } from "../../../core/http-signatures/index.ts";
import { decodeCompactJws, verifyJwsSignature } from "../../../core/http-signatures/jws.ts";
import keyFile from "../../vectors/wycheproof/json_web_key_test.json" with { type: "json" };
import signatureFile from "../../vectors/wycheproof/json_web_signature_test.json" with { type: "json" };

interface JwsCase {
  tcId: number;
  comment: string;
  jws: unknown;
  result: string;
}

/** "accepted", or why the JWS was refused. */
async function verdict(token: unknown, jwk: unknown): Promise<string> {
  let key: ReturnType<typeof checkAgentPublicJwk>;
  try {
    key = checkAgentPublicJwk(jwk);
  } catch (error) {
    if (!isLimeError(error)) throw error;
    return error.code;
  }
  if (typeof token !== "string") return "not compact";
  const jws = decodeCompactJws(token);
  if (jws === undefined) return "malformed";
  if (jws.header.crit !== undefined) return "crit";
  return (await verifyJwsSignature(jws, key)) ? "accepted" : "bad signature";
}

const p256Groups = signatureFile.testGroups.filter(
  (group) => (group as { public?: { crv?: string } }).public?.crv === "P-256",
);

describe("Wycheproof json_web_signature_test.json, P-256 groups", () => {
  test("the groups this file is expected to hold are there", () => {
    expect(p256Groups.map((group) => group.comment).sort()).toEqual([
      "SpecialCaseEs256",
      "ec_key_for_encryption",
      "ec_key_for_encryption",
      "es256",
    ]);
    expect(p256Groups.flatMap((group) => group.tests as JwsCase[]).length).toBe(41);
  });

  for (const group of p256Groups) {
    for (const testCase of group.tests as JwsCase[]) {
      test(`${group.comment} tcId ${testCase.tcId} ${testCase.comment}: ${testCase.result}`, async () => {
        expect(testCase.result).not.toBe("acceptable");
        const result = await verdict(testCase.jws, (group as { public: unknown }).public);
        if (testCase.result === "valid") expect(result).toBe("accepted");
        else expect(result).not.toBe("accepted");
      });
    }
  }
});

describe("Wycheproof json_web_key_test.json, EC key groups", () => {
  const groups = keyFile.testGroups.filter((group) =>
    ["wrong_algorithm", "invalid_use", "invalid_point", "wrong_curve", "wrong_kty"].includes(group.comment),
  );

  test("five groups, one invalid case each", () => {
    expect(groups).toHaveLength(5);
    for (const group of groups) expect(group.tests.map((t) => t.result)).toEqual(["invalid"]);
  });

  for (const group of groups) {
    test(`${group.comment}: the key is refused or the token does not verify`, async () => {
      const jwk = (group as { public: { keys: unknown[] } }).public.keys[0];
      const result = await verdict(group.tests[0]!.jws, jwk);
      expect(result).not.toBe("accepted");
      if (group.comment === "invalid_point") {
        expect(result).toBe("bad signature");
        const error = await importAgentPublicKey(checkAgentPublicJwk(jwk)).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "KEY_INVALID" });
      } else {
        // RSA kty, P-384 curve, alg ES521, use enc: each refused as a key before any token is read.
        expect(result).toBe("KEY_UNSUPPORTED");
      }
    });
  }
});
