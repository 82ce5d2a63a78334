/**
 * Wycheproof RSASSA-PKCS1-v1_5 vectors (test/vectors/wycheproof, C2SP/wycheproof
 * testvectors_v1) through the RS256 primitives LIME signs and verifies with;
 * verification through both backends, `node:crypto` and WebCrypto, which must
 * give the same verdict on every vector.
 *
 * "acceptable" cases: the only ones in the SHA-256 verify files are MissingNull
 * (DigestInfo without the NULL parameter). LIME's signer never produces them
 * and the verifier REFUSES them: a token has one valid encoding or none.
 * In the sig-gen file, "acceptable" marks SHA-1 and e = 3 keys, which LIME never
 * signs with; only the SHA-256 groups are signed here, and they must match byte for byte.
 */
import { describe, expect, test } from "bun:test";
import { createLocalJwks, importSigningKey } from "../../../core/keys/index.ts";
import { rs256Sign } from "../../../core/passport/rs256.ts";
import { caught, hexToBytes, RS256_BACKENDS, rs256Verifier } from "./fixtures.ts";

const DIR = `${import.meta.dir}/../../vectors/wycheproof`;

interface VerifyTest {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: "valid" | "invalid" | "acceptable";
  flags: string[];
}

interface VerifyGroup {
  keySize: number;
  sha: string;
  keyJwk: { kty: string; n: string; e: string; kid?: string; alg?: string };
  tests: VerifyTest[];
}

const RS256_PARAMS = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

for (const size of [2048, 3072, 4096]) {
  describe(`Wycheproof rsa_signature_${size}_sha256_test.json`, () => {
    test.each(RS256_BACKENDS)(
      "%s: every valid signature verifies, every invalid and acceptable one is refused",
      async (backend) => {
        const file = await Bun.file(`${DIR}/rsa_signature_${size}_sha256_test.json`).json();
        let count = 0;
        const wrong: string[] = [];
        for (const group of file.testGroups as VerifyGroup[]) {
          expect(group.sha).toBe("SHA-256");
          // The JWK, not the SPKI: a JWKS entry is what LIME's verifier imports (e = 3 groups included here).
          const verifier = await rs256Verifier(group.keyJwk, backend);
          for (const t of group.tests) {
            const verified = await verifier.verify(hexToBytes(t.sig), hexToBytes(t.msg));
            if (verified !== (t.result === "valid"))
              wrong.push(`tcId ${t.tcId} ${t.result} ${t.flags.join(",")}`);
            count++;
          }
        }
        expect(wrong).toEqual([]);
        expect(count).toBe(file.numberOfTests);
      },
    );

    test("the same keys as JWKs: e = 65537 keys are accepted by createLocalJwks, e = 3 keys are refused as KEY_WEAK", async () => {
      const file = await Bun.file(`${DIR}/rsa_signature_${size}_sha256_test.json`).json();
      for (const group of file.testGroups as VerifyGroup[]) {
        const jwk = { kty: "RSA", n: group.keyJwk.n, e: group.keyJwk.e, kid: "k", alg: "RS256" };
        if (group.keyJwk.e === "AQAB") {
          expect(createLocalJwks({ keys: [jwk] }).kids).toEqual(["k"]);
        } else {
          expect((await caught(() => createLocalJwks({ keys: [jwk] }))).code).toBe("KEY_WEAK");
        }
      }
    });
  });
}

describe("Wycheproof rsa_pkcs1_2048_sig_gen_test.json", () => {
  test("the RS256 signer reproduces every SHA-256 signature byte for byte (RSASSA-PKCS1-v1_5 is deterministic)", async () => {
    const file = await Bun.file(`${DIR}/rsa_pkcs1_2048_sig_gen_test.json`).json();
    let signed = 0;
    for (const group of file.testGroups) {
      if (group.sha !== "SHA-256") continue;
      const key = await crypto.subtle.importKey(
        "pkcs8",
        hexToBytes(group.privateKeyPkcs8),
        RS256_PARAMS,
        false,
        ["sign"],
      );
      for (const t of group.tests) {
        const signature = await rs256Sign(key, hexToBytes(t.msg));
        expect(Buffer.from(signature).toString("hex")).toBe(t.sig);
        signed++;
      }
    }
    expect(signed).toBeGreaterThanOrEqual(9);
  });

  test("the same signatures come out of importSigningKey for every e = 65537 SHA-256 key (the server's import path)", async () => {
    const file = await Bun.file(`${DIR}/rsa_pkcs1_2048_sig_gen_test.json`).json();
    const groups = file.testGroups.filter(
      (g: { sha: string; keyJwk?: { e: string } }) => g.sha === "SHA-256",
    );
    let signed = 0;
    for (const group of groups) {
      const raw = await crypto.subtle.importKey(
        "pkcs8",
        hexToBytes(group.privateKeyPkcs8),
        RS256_PARAMS,
        true,
        ["sign"],
      );
      const jwk = await crypto.subtle.exportKey("jwk", raw);
      if (jwk.e !== "AQAB") continue;
      const key = await importSigningKey(jwk);
      for (const t of group.tests) {
        expect(Buffer.from(await rs256Sign(key.privateKey, hexToBytes(t.msg))).toString("hex")).toBe(t.sig);
        signed++;
      }
    }
    expect(signed).toBeGreaterThanOrEqual(8);
  });
});
