/**
 * Wycheproof JOSE vectors (test/vectors/wycheproof) through the whole token
 * verifier, `verifyJws`, with the key set the group publishes.
 *
 * LIME accepts RS256 only. So in json_web_signature_test.json every RS256
 * group is run as published (valid accepted, invalid refused) and every
 * other group must be refused whatever its result says (HS256, ES256, PS256,
 * RS384 ... are not ours to accept). Payloads here are not JWT claim sets,
 * which is why this runs `verifyJws`, the layer beneath the claims checks.
 *
 * Key sets: a verifier is given public keys. Where a group only lists a
 * private set, the RSA keys are reduced to their public members; symmetric
 * keys cannot be, and `createLocalJwks` refuses them (KEY_PRIVATE_MATERIAL),
 * which counts as refusing the token.
 *
 * Every token goes through both RS256 backends (`node:crypto` and
 * WebCrypto); they must agree on the verdict, down to the error code.
 */
import { describe, expect, test } from "bun:test";
import { isLimeError } from "../../../core/errors.ts";
import { createLocalJwks } from "../../../core/keys/index.ts";
import type { Rs256Backend } from "../../../core/passport/rs256.ts";
import { verifyJws } from "../../../core/passport/verify.ts";
import { RS256_BACKENDS } from "./fixtures.ts";

const DIR = `${import.meta.dir}/../../vectors/wycheproof`;

type Jwk = Record<string, unknown>;
interface Group {
  comment: string;
  public?: Jwk;
  private?: Jwk;
  tests: { tcId: number; comment: string; jws: string; result: string; flags: string[] }[];
}

const RSA_PRIVATE = ["d", "p", "q", "dp", "dq", "qi", "oth"];

function publicSet(group: Group): unknown {
  const source = group.public ?? group.private!;
  const keys = (Array.isArray(source.keys) ? source.keys : [source]) as Jwk[];
  const reduce = (jwk: Jwk) =>
    group.public !== undefined || jwk.kty !== "RSA"
      ? jwk
      : Object.fromEntries(Object.entries(jwk).filter(([member]) => !RSA_PRIVATE.includes(member)));
  return { keys: keys.map(reduce) };
}

async function backendVerdict(jws: string, keySet: unknown, backend: Rs256Backend): Promise<string> {
  try {
    await verifyJws(jws, createLocalJwks(keySet, { backend }));
    return "accepted";
  } catch (error) {
    if (!isLimeError(error)) throw error;
    return error.code;
  }
}

/**
 * The verifier's verdict: "accepted" or the stable code it refused with, the
 * same on both backends. Any other throw, or backends that disagree, fails the test.
 */
async function verdict(jws: string, keySet: unknown): Promise<string> {
  const [first, ...others] = await Promise.all(
    RS256_BACKENDS.map((backend) => backendVerdict(jws, keySet, backend)),
  );
  for (const other of others) {
    if (other !== first)
      throw new Error(`the backends disagree on ${jws.slice(0, 40)}...: ${first} vs ${other}`);
  }
  return first!;
}

function isRs256Group(group: Group): boolean {
  const keys = publicSet(group) as { keys: Jwk[] };
  return keys.keys.every((jwk) => jwk.kty === "RSA" && (jwk.alg === undefined || jwk.alg === "RS256"));
}

describe("Wycheproof json_web_signature_test.json", () => {
  test("RS256 groups as published: the valid tokens verify, every invalid one is refused with a stable code", async () => {
    const file = await Bun.file(`${DIR}/json_web_signature_test.json`).json();
    const wrong: string[] = [];
    let valid = 0;
    let invalid = 0;
    for (const group of file.testGroups as Group[]) {
      if (!isRs256Group(group)) continue;
      for (const t of group.tests) {
        const got = await verdict(t.jws, publicSet(group));
        const algRs256 = t.jws.startsWith("eyJhbGciOiJSUzI1NiI");
        const expected = t.result === "valid" && algRs256 ? "accepted" : "refused";
        if ((got === "accepted") !== (expected === "accepted"))
          wrong.push(`tcId ${t.tcId} ${t.comment}: ${got}`);
        if (expected === "accepted") valid++;
        else invalid++;
      }
    }
    expect(wrong).toEqual([]);
    // The README counts 8 valid RS256 cases (with the RFC 7520 example) and over 200 invalid ones.
    expect(valid).toBe(8);
    expect(invalid).toBeGreaterThan(200);
  });

  test("every other algorithm's group is refused, even its valid tokens", async () => {
    const file = await Bun.file(`${DIR}/json_web_signature_test.json`).json();
    const accepted: string[] = [];
    let seen = 0;
    for (const group of file.testGroups as Group[]) {
      if (isRs256Group(group)) continue;
      for (const t of group.tests) {
        if ((await verdict(t.jws, publicSet(group))) === "accepted") accepted.push(`tcId ${t.tcId}`);
        seen++;
      }
    }
    expect(accepted).toEqual([]);
    expect(seen).toBeGreaterThan(100);
  });
});

describe("Wycheproof json_web_key_test.json", () => {
  test("key sets: only the RS256 token under a sound signing key verifies; mixed, duplicate, wrong-use, small, e = 1 and ROCA sets are refused", async () => {
    const file = await Bun.file(`${DIR}/json_web_key_test.json`).json();
    const got: Record<number, string> = {};
    for (const group of file.testGroups as Group[]) {
      for (const t of group.tests) {
        try {
          got[t.tcId] = await verdict(t.jws, publicSet(group));
        } catch (error) {
          if (!isLimeError(error)) throw error;
          got[t.tcId] = error.code;
        }
      }
    }
    expect(got[5]).toBe("accepted"); // rs256 acceptsValid
    expect(got[6]).toBe("PASSPORT_UNKNOWN_KID"); // the only key with that kid has use "enc"
    expect(got[7]).toBe("KEY_WEAK"); // ROCA modulus
    expect(got[8]).toBe("KEY_TOO_SMALL"); // 1024-bit key
    expect(got[9]).toBe("KEY_WEAK"); // e = 1
    expect(got[1]).toBe("KEY_PRIVATE_MATERIAL"); // HMAC key in the set
    expect(got[4]).toBe("KEY_PRIVATE_MATERIAL"); // duplicate kid, symmetric keys
    const acceptedIds = Object.entries(got)
      .filter(([, verdictCode]) => verdictCode === "accepted")
      .map(([id]) => Number(id));
    expect(acceptedIds).toEqual([5]);
    expect(Object.keys(got)).toHaveLength(file.numberOfTests);
  });
});
