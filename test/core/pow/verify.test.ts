import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PowError } from "../../../core/errors.ts";
import { MAX_NONCE } from "../../../core/pow/constants.ts";
import { difficultyMasks, isCanonicalNonce } from "../../../core/pow/form.ts";
import { createChallenge, MAX_POW_DIFFICULTY, powDigestHex, verify } from "../../../core/pow/index.ts";
import {
  leadingZeroBitsHex,
  nobleDigestHex,
  nobleIsValid,
  nodeDigestHex,
  type PowVector,
  seededChallenge,
} from "./reference.ts";
import vectorFile from "./vectors.json";

const vectors: PowVector[] = vectorFile.vectors;
const CHALLENGE = seededChallenge("verify", 0);

function powCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof PowError) return err.code;
    throw err;
  }
  return undefined;
}

describe("verify: published vectors", () => {
  for (const v of vectors) {
    test(`difficulty ${v.difficulty}: nonce ${v.nonce} is the smallest valid one, digest ${v.digest.slice(0, 12)}...`, () => {
      expect(nodeDigestHex(v.challenge, v.nonce)).toBe(v.digest);
      expect(nobleDigestHex(v.challenge, v.nonce)).toBe(v.digest);
      expect(powDigestHex(v.challenge, v.nonce)).toBe(v.digest);
      expect(leadingZeroBitsHex(v.digest)).toBeGreaterThanOrEqual(v.difficulty);
      expect(verify(v.challenge, v.difficulty, v.nonce)).toBe(true);
      // Every smaller nonce fails, by the reference and by verify.
      const limit = Math.min(Number(v.nonce), 50_000);
      for (let n = 0; n < limit; n++) {
        expect(leadingZeroBitsHex(nodeDigestHex(v.challenge, String(n))) < v.difficulty).toBe(true);
      }
      for (let n = Math.max(0, Number(v.nonce) - 300); n < Number(v.nonce); n++) {
        expect(verify(v.challenge, v.difficulty, String(n))).toBe(false);
      }
    });
  }

  test("a valid nonce fails one bit of difficulty above its digest's zero count", () => {
    for (const v of vectors) {
      const zeros = leadingZeroBitsHex(v.digest);
      if (zeros < MAX_POW_DIFFICULTY) expect(verify(v.challenge, zeros + 1, v.nonce)).toBe(false);
      expect(verify(v.challenge, zeros, v.nonce)).toBe(true);
    }
  });
});

describe("verify: form of the inputs", () => {
  test("rejects malformed challenges with POW_INVALID_CHALLENGE", () => {
    for (const bad of [
      "",
      "a".repeat(63),
      "a".repeat(65),
      "A".repeat(64),
      `${"a".repeat(63)}g`,
      ` ${"a".repeat(63)}`,
    ]) {
      expect(powCode(() => verify(bad, 1, "0"))).toBe("POW_INVALID_CHALLENGE");
      expect(powCode(() => powDigestHex(bad, "0"))).toBe("POW_INVALID_CHALLENGE");
    }
    expect(powCode(() => verify(123 as unknown as string, 1, "0"))).toBe("POW_INVALID_CHALLENGE");
  });

  test("rejects difficulties outside 0..40 or not integers with POW_INVALID_DIFFICULTY", () => {
    for (const bad of [-1, 41, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "15", null]) {
      expect(powCode(() => verify(CHALLENGE, bad as number, "0"))).toBe("POW_INVALID_DIFFICULTY");
    }
    expect(verify(CHALLENGE, 0, "0")).toBe(true);
    expect(powCode(() => verify(CHALLENGE, 40, "0"))).toBeUndefined();
  });

  test("returns false, never throws, for non-canonical nonces", () => {
    const bad = [
      "",
      "00",
      "01",
      "+1",
      "-1",
      " 1",
      "1 ",
      "1e3",
      "0x10",
      "１",
      "12a",
      "1.0",
      "123456789012345678901",
    ];
    for (const nonce of bad) expect(verify(CHALLENGE, 0, nonce)).toBe(false);
    for (const nonce of [1, null, undefined, {}, 10n])
      expect(verify(CHALLENGE, 0, nonce as unknown as string)).toBe(false);
    expect(powCode(() => powDigestHex(CHALLENGE, "01"))).toBe("POW_INVALID_NONCE");
  });

  test("caps the nonce at 2^64 - 1 (u64), the 20-digit boundary included", () => {
    expect(isCanonicalNonce(MAX_NONCE)).toBe(true);
    expect(isCanonicalNonce("18446744073709551616")).toBe(false);
    expect(isCanonicalNonce("99999999999999999999")).toBe(false);
    expect(isCanonicalNonce("9999999999999999999")).toBe(true);
    expect(verify(CHALLENGE, 0, MAX_NONCE)).toBe(true);
    expect(verify(CHALLENGE, 0, "18446744073709551616")).toBe(false);
  });

  test("difficulty masks select exactly the leading bits of the first two digest words", () => {
    expect(difficultyMasks(0)).toEqual([0, 0]);
    expect(difficultyMasks(1)).toEqual([0x80000000 | 0, 0]);
    expect(difficultyMasks(15)).toEqual([0xfffe0000 | 0, 0]);
    expect(difficultyMasks(32)).toEqual([-1, 0]);
    expect(difficultyMasks(33)).toEqual([-1, 0x80000000 | 0]);
    expect(difficultyMasks(40)).toEqual([-1, 0xff000000 | 0]);
  });
});

describe("verify: properties", () => {
  const challengeArb = fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((b) => Buffer.from(b).toString("hex"));
  const nonceArb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);

  test("agrees with the @noble/hashes reference on random challenges, nonces and difficulties", () => {
    fc.assert(
      fc.property(challengeArb, fc.integer({ min: 0, max: 12 }), nonceArb, (challenge, difficulty, nonce) => {
        expect(verify(challenge, difficulty, nonce)).toBe(nobleIsValid(challenge, difficulty, nonce));
        expect(powDigestHex(challenge, nonce)).toBe(nobleDigestHex(challenge, nonce));
      }),
      { numRuns: 500 },
    );
  });

  test("any string challenge gets a typed error or a boolean, never a crash", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.integer({ min: 0, max: 40 }), (challenge, difficulty) => {
        const code = powCode(() => verify(challenge, difficulty, "1"));
        expect(code === undefined ? /^[0-9a-f]{64}$/.test(challenge) : code === "POW_INVALID_CHALLENGE").toBe(
          true,
        );
      }),
    );
  });

  test("any difficulty outside the integers 0..40 is POW_INVALID_DIFFICULTY", () => {
    const badDifficulty = fc.oneof(
      fc.integer({ max: -1 }),
      fc.integer({ min: 41 }),
      fc.double().filter((d) => !Number.isInteger(d)),
      fc.constantFrom(Number.NaN, Number.NEGATIVE_INFINITY),
    );
    fc.assert(
      fc.property(badDifficulty, (difficulty) => {
        expect(powCode(() => verify(CHALLENGE, difficulty, "1"))).toBe("POW_INVALID_DIFFICULTY");
      }),
    );
  });

  test("a nonce string that is not canonical is false; a canonical one is decided by the hash", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (nonce) => {
        const canonical = /^(0|[1-9][0-9]{0,19})$/.test(nonce) && BigInt(nonce) < 2n ** 64n;
        const result = verify(CHALLENGE, 0, nonce);
        expect(result).toBe(canonical);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(nonceArb, fc.constantFrom("0", "00", "+", "-", " ", "\n"), (nonce, prefix) => {
        expect(verify(CHALLENGE, 0, prefix + nonce)).toBe(false);
      }),
    );
  });

  test("createChallenge returns 64 lowercase hex characters that verify accepts, and never repeats", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const challenge = createChallenge();
      expect(challenge).toMatch(/^[0-9a-f]{64}$/);
      expect(verify(challenge, 0, "0")).toBe(true);
      seen.add(challenge);
    }
    expect(seen.size).toBe(200);
  });
});
