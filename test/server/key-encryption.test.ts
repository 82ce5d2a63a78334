import { describe, expect, test } from "bun:test";
import { createDecipheriv } from "node:crypto";
import { createKeyEncryption } from "../../server/infrastructure/crypto/key-encryption.ts";

const KEK = new Uint8Array(32).map((_, i) => i);
const AAD_PREFIX = "lime-signing-key-v1:";

describe("key encryption at rest (AES-256-GCM)", () => {
  test("seal/open round trip; a fresh 96-bit IV each time", async () => {
    const sealer = await createKeyEncryption(KEK);
    const plaintext = new TextEncoder().encode('{"kty":"RSA","d":"secret"}');
    const a = await sealer.seal(plaintext, "kid-1");
    const b = await sealer.seal(plaintext, "kid-1");
    expect(a.iv.length).toBe(12);
    expect(Buffer.from(a.iv).equals(Buffer.from(b.iv))).toBe(false);
    expect(await sealer.open(a, "kid-1")).toEqual(plaintext);
  });

  test("the format is standard GCM (ciphertext ‖ 16-byte tag, kid in the AAD): node:crypto opens it", async () => {
    const sealer = await createKeyEncryption(KEK);
    const plaintext = new TextEncoder().encode("private jwk bytes");
    const sealed = await sealer.seal(plaintext, "kid-xyz");
    const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - 16);
    const tag = sealed.ciphertext.subarray(sealed.ciphertext.length - 16);
    const decipher = createDecipheriv("aes-256-gcm", KEK, sealed.iv);
    decipher.setAAD(Buffer.from(`${AAD_PREFIX}kid-xyz`));
    decipher.setAuthTag(tag);
    const opened = Buffer.concat([decipher.update(body), decipher.final()]);
    expect(new Uint8Array(opened)).toEqual(plaintext);
  });

  test("another kid, another KEK, or one flipped bit: refused", async () => {
    const sealer = await createKeyEncryption(KEK);
    const sealed = await sealer.seal(new Uint8Array([1, 2, 3]), "kid-1");
    await expect(sealer.open(sealed, "kid-2")).rejects.toThrow();
    const other = await createKeyEncryption(new Uint8Array(32).fill(9));
    await expect(other.open(sealed, "kid-1")).rejects.toThrow();
    const flipped = { iv: sealed.iv, ciphertext: new Uint8Array(sealed.ciphertext) };
    flipped.ciphertext[0]! ^= 1;
    await expect(sealer.open(flipped, "kid-1")).rejects.toThrow();
  });

  test("a KEK that is not 32 bytes is a RangeError", async () => {
    await expect(createKeyEncryption(new Uint8Array(16))).rejects.toThrow(RangeError);
  });
});
