import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SEARCH_EXHAUSTED, SEARCH_FOUND, SEARCH_NOT_FOUND } from "../../../core/pow/kernel/abi.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { KERNEL_VARIANTS, openKernel } from "./kernel-harness.ts";
import {
  leadingZeroBitsHex,
  nobleDigestHex,
  nodeDigestHex,
  type PowVector,
  seededChallenge,
} from "./reference.ts";
import vectorFile from "./vectors.json";

const vectors: PowVector[] = vectorFile.vectors;

/** The reference answer: first nonce >= from (as a BigInt) meeting the difficulty, by node:crypto. */
function referenceSearch(
  challenge: string,
  difficulty: number,
  from: bigint,
  limit: bigint,
): bigint | undefined {
  for (let n = from; n < from + limit; n++) {
    if (leadingZeroBitsHex(nodeDigestHex(challenge, n.toString())) >= difficulty) return n;
  }
  return undefined;
}

const prefixOf = (n: bigint): string => (n === 0n ? "" : n.toString());

for (const kind of KERNEL_VARIANTS) {
  describe(`${kind} kernel`, () => {
    test(
      "finds the smallest valid nonce of every published vector",
      async () => {
        for (const v of vectors) {
          const { search } = await openKernel(kind, v.challenge);
          const result = search("", 1_000_000, v.difficulty);
          expect(result.status).toBe(SEARCH_FOUND);
          expect(result.nonce).toBe(v.nonce);
          expect(nobleDigestHex(v.challenge, result.nonce)).toBe(v.digest);
        }
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    test(
      "agrees with node:crypto from every prefix length 0..19, across digit-count boundaries",
      async () => {
        const challenge = seededChallenge("kernel-lengths", kind.length);
        const { search } = await openKernel(kind, challenge);
        const starts: bigint[] = [0n];
        for (let digits = 1; digits <= 19; digits++) {
          const power = 10n ** BigInt(digits);
          // Just below a power of ten, so the search crosses into one more digit,
          // and an arbitrary point inside the length.
          starts.push(power / 10n + 7n * (power / 100n + 1n), power - 3n);
        }
        for (const prefix of starts) {
          const from = prefix * 10n;
          const difficulty = 5;
          const expected = referenceSearch(challenge, difficulty, from, 5000n);
          const result = search(prefixOf(prefix), 500, difficulty);
          expect(expected).toBeDefined();
          if (expected! >= 10n ** 20n) {
            // Past 20 digits the kernel stops instead: nothing there is a nonce.
            expect(result.status).toBe(SEARCH_EXHAUSTED);
            continue;
          }
          expect({ prefix, nonce: result.nonce }).toEqual({ prefix, nonce: expected!.toString() });
          expect(result.status).toBe(SEARCH_FOUND);
          expect(leadingZeroBitsHex(nobleDigestHex(challenge, result.nonce))).toBeGreaterThanOrEqual(
            difficulty,
          );
        }
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    test(
      "property: the first hit from a random prefix matches node:crypto and @noble/hashes",
      async () => {
        const challenges = [0, 1, 2, 3].map((i) => seededChallenge("kernel-property", i));
        const kernels = await Promise.all(challenges.map((c) => openKernel(kind, c)));
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 0, max: 3 }),
            fc.bigInt({ min: 0n, max: 10n ** 19n - 1n }),
            fc.integer({ min: 0, max: 7 }),
            async (which, prefix, difficulty) => {
              const challenge = challenges[which]!;
              const result = kernels[which]!.search(prefixOf(prefix), 200, difficulty);
              const expected = referenceSearch(challenge, difficulty, prefix * 10n, 2000n);
              if (expected === undefined || expected >= 10n ** 20n) return;
              expect(result.nonce).toBe(expected.toString());
              expect(leadingZeroBitsHex(nobleDigestHex(challenge, result.nonce))).toBeGreaterThanOrEqual(
                difficulty,
              );
            },
          ),
          { numRuns: 150 },
        );
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    test(
      "with many hits per chunk, still returns the smallest (lanes and digits compete)",
      async () => {
        for (let i = 0; i < 40; i++) {
          const challenge = seededChallenge("kernel-dense", i);
          const { search } = await openKernel(kind, challenge);
          for (const prefix of [0n, 7n, 100n, 104n, 12345678n, 99999996n]) {
            const difficulty = 2;
            const expected = referenceSearch(challenge, difficulty, prefix * 10n, 1000n)!;
            expect(search(prefixOf(prefix), 64, difficulty).nonce).toBe(expected.toString());
          }
        }
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    test(
      "counts every hash of a batch without a hit and resumes where asked",
      async () => {
        const challenge = seededChallenge("kernel-count", 0);
        const { search } = await openKernel(kind, challenge);
        // Difficulty 40 has no solution in a few thousand nonces (2^-40 each).
        for (const [prefix, count] of [
          ["", 1],
          ["", 37],
          ["99", 13],
          ["100", 8],
          ["123457", 401],
        ] as const) {
          const result = search(prefix, count, 40);
          expect(result).toEqual({ status: SEARCH_NOT_FOUND, nonce: "", hashes: 10 * count });
        }
        expect(search("5", 0, 0)).toEqual({ status: SEARCH_NOT_FOUND, nonce: "", hashes: 0 });
      },
      SLOW_TEST_TIMEOUT_MS,
    );

    test("difficulty 0 returns the first nonce of the batch; 32..40 find nothing in a short batch", async () => {
      const challenge = seededChallenge("kernel-edges", 0);
      const { search } = await openKernel(kind, challenge);
      expect(search("", 5, 0)).toEqual({ status: SEARCH_FOUND, nonce: "0", hashes: 1 });
      expect(search("1234", 5, 0).nonce).toBe("12340");
      for (let difficulty = 32; difficulty <= 40; difficulty++) {
        expect(search("", 100, difficulty).status).toBe(SEARCH_NOT_FOUND);
      }
    });

    test("property: every bit of the first two digest words matches node:crypto (random masks)", async () => {
      const challenge = seededChallenge("kernel-masks", 0);
      const { searchMasks } = await openKernel(kind, challenge);
      const word = (hex: string, i: number): number => Number.parseInt(hex.slice(8 * i, 8 * i + 8), 16) | 0;
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 7 }),
          fc.bigInt({ min: 0n, max: 10n ** 18n }),
          async (bits, prefix) => {
            let m0 = 0;
            let m1 = 0;
            for (const bit of bits) {
              if (bit < 32) m0 |= 1 << bit;
              else m1 |= 1 << (bit - 32);
            }
            const result = searchMasks(prefixOf(prefix), 2000, m0, m1);
            let n = prefix * 10n;
            for (; ; n++) {
              const digest = nodeDigestHex(challenge, n.toString());
              if (((word(digest, 0) & m0) | (word(digest, 1) & m1)) === 0) break;
            }
            expect(result.nonce).toBe(n.toString());
          },
        ),
        { numRuns: 60 },
      );
    });

    test(
      "stops with SEARCH_EXHAUSTED when the prefix would pass 19 digits",
      async () => {
        const challenge = seededChallenge("kernel-exhausted", 0);
        const { search } = await openKernel(kind, challenge);
        const last = "9".repeat(19);
        expect(search(last, 4, 40)).toEqual({ status: SEARCH_EXHAUSTED, nonce: "", hashes: 10 });
        expect(search(last, 1, 0)).toEqual({ status: SEARCH_FOUND, nonce: `${last}0`, hashes: 1 });
      },
      SLOW_TEST_TIMEOUT_MS,
    );
  });
}

describe("SIMD and scalar kernels", () => {
  test(
    "return the same nonce on the same batches; every SIMD step the same hash count too",
    async () => {
      for (let i = 0; i < 20; i++) {
        const challenge = seededChallenge("kernel-same", i);
        const scalar = await openKernel("wasm-scalar", challenge);
        const simd = await openKernel("wasm-simd", challenge);
        const paired = await openKernel("wasm-simd-paired", challenge);
        const multiply = await openKernel("wasm-simd-multiply", challenge);
        const a = scalar.search("1000", 2000, 10);
        const b = simd.search("1000", 2000, 10);
        expect(b.nonce).toBe(a.nonce);
        expect(b.status).toBe(a.status);
        // Two digits per step count the same hashes: up to the hit, as one digit per step does.
        expect(paired.search("1000", 2000, 10)).toEqual(b);
        expect(multiply.search("1000", 2000, 10)).toEqual(b);
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
