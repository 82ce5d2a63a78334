import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeBase64url, encodeBase64url, encodeBase64urlText } from "../../../core/encoding/base64url.ts";

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

describe("base64url (RFC 4648 §5, unpadded as RFC 7515 §2 requires)", () => {
  test("RFC 4648 §10 test vectors, without padding", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "Zg"],
      ["fo", "Zm8"],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg"],
      ["fooba", "Zm9vYmE"],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64urlText(plain)).toBe(encoded);
      expect(text(decodeBase64url(encoded))).toBe(plain);
    }
  });

  test("uses - and _ where base64 uses + and /", () => {
    expect(encodeBase64url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe("-_-_");
    expect([...decodeBase64url("-_-_")!]).toEqual([0xfb, 0xff, 0xbf]);
  });

  test("encoding agrees with node's Buffer for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const encoded = encodeBase64url(bytes);
        expect(encoded).toBe(Buffer.from(bytes).toString("base64url"));
        expect(decodeBase64url(encoded)).toEqual(bytes);
      }),
    );
  });

  test("any string decodes to bytes that re-encode to that exact string, or is refused", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. é\u0000";
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 40 }),
        ),
        (input) => {
          const decoded = decodeBase64url(input);
          if (decoded !== undefined) {
            expect(encodeBase64url(decoded)).toBe(input);
            expect(decoded).toEqual(new Uint8Array(Buffer.from(input, "base64url")));
          }
        },
      ),
    );
  });

  test("refuses padding, characters outside the alphabet, and a 4k+1 length", () => {
    for (const bad of ["Zg==", "Zm8=", "Zm9v+", "Zm9/", "Zm 9v", "Zm9vY", "A", "Zm9\u00e9", "Zm9v\u0000"]) {
      expect(decodeBase64url(bad)).toBeUndefined();
    }
  });

  test("refuses non-canonical trailing bits, so one byte string has one encoding", () => {
    expect(decodeBase64url("Zg")).toBeDefined();
    expect(decodeBase64url("Zh")).toBeUndefined(); // same byte "f", low bits set
    expect(decodeBase64url("Zm8")).toBeDefined();
    expect(decodeBase64url("Zm9")).toBeUndefined();
  });

  test("decodes a slice in place", () => {
    expect(text(decodeBase64url("xx.Zm9v.yy", 3, 7))).toBe("foo");
  });

  test("encoders reject wrong argument types with a TypeError", () => {
    expect(() => encodeBase64url("abc" as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => encodeBase64urlText(42 as unknown as string)).toThrow(TypeError);
  });
});
