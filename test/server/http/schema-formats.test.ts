/**
 * The fast `uuid` and `email` checkers (server/http/schema-formats.ts) accept
 * exactly what the checkers they replaced accepted, on valid, near-valid and
 * random strings; and they are the ones TypeBox now uses.
 */
import { describe, expect, test } from "bun:test";
import { FormatRegistry } from "@sinclair/typebox";
import fc from "fast-check";
import { replacedFormatCheckers } from "../../../server/http/schema-formats.ts";

const hexChar = fc.constantFrom(..."0123456789abcdefABCDEFgG-");
const uuidLike = fc
  .tuple(
    fc.uuid(),
    fc.nat({ max: 40 }),
    hexChar,
    fc.constantFrom("", "urn:uuid:", " ", "{"),
    fc.constantFrom("", "\n", " ", "}"),
  )
  .map(
    ([uuid, at, ch, prefix, suffix]) => `${prefix}${uuid.slice(0, at)}${ch}${uuid.slice(at + 1)}${suffix}`,
  );
const emailLike = fc.oneof(
  fc.emailAddress(),
  fc
    .tuple(
      fc.emailAddress(),
      fc.nat({ max: 30 }),
      fc.constantFrom(".", "..", "@", "-", "_", "'", "é", " ", "+"),
    )
    .map(([email, at, ch]) => `${email.slice(0, at)}${ch}${email.slice(at)}`),
  fc.string(),
);

describe("schema formats", () => {
  for (const [name, strings] of [
    ["uuid", fc.oneof(fc.uuid(), fc.uuid({ version: 4 }), uuidLike, fc.string())],
    ["email", emailLike],
  ] as const) {
    test(`${name}: the same verdict as the checker it replaced`, () => {
      const replaced = replacedFormatCheckers.get(name);
      expect(replaced).toBeDefined();
      const current = FormatRegistry.Get(name)!;
      expect(current).not.toBe(replaced);
      let accepted = 0;
      fc.assert(
        fc.property(strings, (value) => {
          const verdict = current(value);
          if (verdict) accepted++;
          expect(verdict).toBe(replaced!(value));
        }),
        { numRuns: 3_000 },
      );
      // Both verdicts were exercised.
      expect(accepted).toBeGreaterThan(10);
      expect(accepted).toBeLessThan(2_990);
    });
  }

  test("fixed cases", () => {
    const uuid = FormatRegistry.Get("uuid")!;
    expect(uuid("0b6f8a5c-4d3e-4f2a-9b1c-8d7e6f5a4b3c")).toBe(true);
    expect(uuid("00000000-0000-0000-0000-000000000000")).toBe(true);
    expect(uuid("0b6f8a5c-4d3e-0f2a-9b1c-8d7e6f5a4b3c")).toBe(false); // version 0
    expect(uuid("0b6f8a5c-4d3e-4f2a-7b1c-8d7e6f5a4b3c")).toBe(false); // not the RFC variant
    expect(uuid("urn:uuid:0b6f8a5c-4d3e-4f2a-9b1c-8d7e6f5a4b3c")).toBe(false);
    const email = FormatRegistry.Get("email")!;
    expect(email("owner@example.test")).toBe(true);
    expect(email(".owner@example.test")).toBe(false);
    expect(email("ow..ner@example.test")).toBe(false);
    expect(email("owner@example")).toBe(false);
  });
});
