/**
 * Property tests (fast-check): whatever is thrown at the verifier and the
 * claim checks, the answer is a result or a PassportError with a stable
 * code, never a crash and never an error from below.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeBase64url, encodeBase64url } from "../../../core/encoding/base64url.ts";
import { PassportError } from "../../../core/errors.ts";
import { createJwks, createLocalJwks } from "../../../core/keys/index.ts";
import { checkPassportClaims } from "../../../core/passport/claims.ts";
import { signPassport, verifyJwt, verifyPassport } from "../../../core/passport/index.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { ISSUER, NOW, passportClaims, RS256_BACKENDS, sharedKey, signRaw } from "./fixtures.ts";

const OPTIONS = { issuer: ISSUER, audience: "lime-passport", now: NOW + 1 };
const CODES = new Set([
  "PASSPORT_MALFORMED",
  "PASSPORT_TOO_LARGE",
  "PASSPORT_ALG_NOT_ALLOWED",
  "PASSPORT_CRIT_UNSUPPORTED",
  "PASSPORT_BAD_SIGNATURE",
  "PASSPORT_UNKNOWN_KID",
  "PASSPORT_WRONG_TYPE",
  "PASSPORT_MISSING_CLAIM",
  "PASSPORT_INVALID_CLAIM",
  "PASSPORT_EXPIRED",
  "PASSPORT_NOT_YET_VALID",
  "PASSPORT_WRONG_ISSUER",
  "PASSPORT_WRONG_AUDIENCE",
  "PASSPORT_INVALID_OPTION",
]);

async function refusal(run: () => Promise<unknown>): Promise<string | "accepted"> {
  try {
    await run();
    return "accepted";
  } catch (error) {
    if (!(error instanceof PassportError) || !CODES.has(error.code)) throw error;
    return error.code;
  }
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** One edit of a token: replace, insert or delete a character, or cut it short. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant("replace" as const),
    at: fc.nat(),
    char: fc.oneof(
      fc.constantFrom(...B64URL, ".", "=", " ", "é", "\u0000"),
      fc.string({ minLength: 1, maxLength: 1 }),
    ),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    char: fc.constantFrom(...B64URL, ".", "=", "+"),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), char: fc.constant("") }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(), char: fc.constant("") }),
);

function mutate(token: string, edits: { kind: string; at: number; char: string }[]): string {
  let out = token;
  for (const { kind, at, char } of edits) {
    const i = at % (out.length + 1);
    if (kind === "replace") out = out.slice(0, i) + char + out.slice(i + 1);
    else if (kind === "insert") out = out.slice(0, i) + char + out.slice(i);
    else if (kind === "delete") out = out.slice(0, i) + out.slice(i + 1);
    else out = out.slice(0, i);
  }
  return out;
}

describe("the verifier under random input", () => {
  test("every mutation of a valid passport is refused with a PassportError (never a crash)", async () => {
    const key = await sharedKey();
    const jwks = createLocalJwks(createJwks([key.publicJwk]));
    const token = await signPassport(passportClaims(), key);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (edits) => {
        const mutated = mutate(token, edits);
        fc.pre(mutated !== token);
        expect(await refusal(() => verifyPassport(mutated, jwks, OPTIONS))).not.toBe("accepted");
      }),
      { numRuns: 400 },
    );
  });

  test("arbitrary strings and values as the token are refused with a PassportError", async () => {
    const { publicJwk } = await sharedKey();
    const jwks = createJwks([publicJwk]);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.anything()), async (input) => {
        expect(await refusal(() => verifyPassport(input as string, jwks, OPTIONS))).not.toBe("accepted");
      }),
      { numRuns: 300 },
    );
  });

  test(
    "validly signed tokens with arbitrary JSON headers and payloads never escape the error contract",
    async () => {
      const key = await sharedKey();
      const jwks = createJwks([key.publicJwk]);
      const header = fc.oneof(
        fc.jsonValue(),
        fc.record(
          {
            alg: fc.oneof(fc.constant("RS256"), fc.jsonValue()),
            kid: fc.oneof(fc.constant(key.kid), fc.jsonValue()),
            typ: fc.oneof(fc.constant("passport+jwt"), fc.jsonValue()),
          },
          { requiredKeys: [] },
        ),
      );
      const payload = fc.oneof(
        fc.jsonValue(),
        fc.record(
          Object.fromEntries(
            Object.entries(passportClaims()).map(([name, value]) => [
              name,
              fc.oneof(fc.constant(value), fc.jsonValue()),
            ]),
          ),
          { requiredKeys: [] },
        ),
      );
      await fc.assert(
        fc.asyncProperty(header, payload, async (h, p) => {
          const token = await signRaw(JSON.stringify(h) ?? "null", JSON.stringify(p) ?? "null", key);
          await refusal(() => verifyPassport(token, jwks, OPTIONS));
          await refusal(() => verifyJwt(token, jwks, OPTIONS));
        }),
        { numRuns: 200 },
      );
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("arbitrary options are either usable or PASSPORT_INVALID_OPTION", async () => {
    const key = await sharedKey();
    const jwks = createJwks([key.publicJwk]);
    const token = await signPassport(passportClaims(), key);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              issuer: fc.anything(),
              audience: fc.anything(),
              now: fc.anything(),
              clockTolerance: fc.anything(),
              maxTokenBytes: fc.anything(),
              typ: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        async (options) => {
          await refusal(() => verifyPassport(token, jwks, options as never));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("the two RS256 backends agree", () => {
  /** A change to the signature's bytes, so the token still parses and the RSA operation runs. */
  const signatureEdit = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), bit: fc.constant(0) }),
    fc.record({ kind: fc.constant("grow" as const), at: fc.nat(255), bit: fc.constant(0) }),
  );

  function editSignature(
    signature: Uint8Array,
    edits: { kind: string; at: number; bit: number }[],
  ): Uint8Array {
    let out = signature.slice();
    for (const { kind, at, bit } of edits) {
      if (kind === "flip" && out.length > 0) out[at % out.length]! ^= 1 << bit;
      else if (kind === "cut") out = out.slice(0, at % (out.length + 1));
      else if (kind === "grow") out = new Uint8Array([...out, at]);
    }
    return out;
  }

  test("node:crypto and WebCrypto give the same verdict, down to the code, on random mutations of a valid passport", async () => {
    const key = await sharedKey();
    const document = createJwks([key.publicJwk]);
    const sets = RS256_BACKENDS.map((backend) => createLocalJwks(document, { backend }));
    const token = await signPassport(passportClaims(), key);
    const dot = token.lastIndexOf(".");
    const signingInput = token.slice(0, dot + 1);
    const signature = decodeBase64url(token, dot + 1)!;
    const mutated = fc.oneof(
      fc.array(mutation, { minLength: 1, maxLength: 4 }).map((edits) => mutate(token, edits)),
      fc
        .array(signatureEdit, { minLength: 1, maxLength: 3 })
        .map((edits) => signingInput + encodeBase64url(editSignature(signature, edits))),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => signingInput + encodeBase64url(bytes)),
    );
    const verdicts: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(mutated, async (candidate) => {
        const [first, ...others] = await Promise.all(
          sets.map((jwks) => refusal(() => verifyPassport(candidate, jwks, OPTIONS))),
        );
        for (const other of others) expect(other).toBe(first!);
        if (candidate !== token) expect(first).not.toBe("accepted");
        verdicts[first!] = (verdicts[first!] ?? 0) + 1;
      }),
      { numRuns: 600 },
    );
    // Most candidates reach the RSA operation, where the backends could differ.
    expect(verdicts.PASSPORT_BAD_SIGNATURE).toBeGreaterThan(200);
  });
});

describe("claim checks under random input", () => {
  test(
    "checkPassportClaims returns the claims or throws a PassportError, for any object",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.dictionary(fc.string(), fc.jsonValue()),
            fc.record(Object.fromEntries(Object.keys(passportClaims()).map((k) => [k, fc.jsonValue()]))),
          ),
          (claims) => {
            try {
              expect(checkPassportClaims(claims)).toBe(claims as never);
            } catch (error) {
              expect(error).toBeInstanceOf(PassportError);
            }
          },
        ),
        { numRuns: 1000 },
      );
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("any well-formed passport that is signed verifies back to the same claims on both RS256 backends (round trip)", async () => {
    const key = await sharedKey();
    const document = createJwks([key.publicJwk]);
    const sets = RS256_BACKENDS.map((backend) => createLocalJwks(document, { backend }));
    const id = fc.string({ minLength: 1, maxLength: 64 });
    const claims = fc.record({
      sub: id,
      jti: id,
      user_id: id,
      agent_name: fc.string({ minLength: 1, maxLength: 128 }),
      owner_kyc_level: fc.integer({ min: 0, max: 3 }),
      lifetime: fc.integer({ min: 1, max: 86_400 }),
    });
    await fc.assert(
      fc.asyncProperty(claims, async ({ lifetime, ...fields }) => {
        const full = passportClaims({ ...fields, exp: NOW + lifetime });
        const token = await signPassport(full, key);
        for (const jwks of sets) {
          const context = await verifyPassport(token, jwks, { ...OPTIONS, now: NOW });
          expect(context.claims).toEqual(full);
          expect([context.agentId, context.ownerId, context.agentName]).toEqual([
            full.sub,
            full.user_id,
            full.agent_name,
          ]);
        }
      }),
      { numRuns: 100 },
    );
  });
});
