import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "../../../core/pow/hex.ts";
import { sha256 } from "../../../core/pow/sha256.ts";

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

// NIST CSRC "Examples with intermediate values" for SHA-256 (FIPS 180-4).
const NIST_VECTORS: Array<[name: string, message: Uint8Array, digest: string]> = [
  ["empty message", ascii(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ['one block "abc"', ascii("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    "two blocks, 448-bit message",
    ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
  [
    "896-bit message",
    ascii(
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    ),
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  ],
  [
    "one million 'a'",
    new Uint8Array(1_000_000).fill(0x61),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  ],
];

describe("pure-TS SHA-256 (the verifier's hash)", () => {
  for (const [name, message, digest] of NIST_VECTORS) {
    test(`matches the NIST example: ${name}`, () => {
      expect(bytesToHex(sha256(message))).toBe(digest);
    });
  }

  test("agrees with node:crypto and @noble/hashes at every length 0..300 (padding boundaries 55/56/63/64/119/120)", () => {
    for (let length = 0; length <= 300; length++) {
      const message = new Uint8Array(length);
      for (let i = 0; i < length; i++) message[i] = (i * 131 + length * 7) & 0xff;
      const expected = createHash("sha256").update(message).digest("hex");
      expect(bytesToHex(sha256(message))).toBe(expected);
      expect(bytesToHex(nobleSha256(message))).toBe(expected);
    }
  });
});
