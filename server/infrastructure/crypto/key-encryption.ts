/**
 * Encryption at rest for private signing keys: AES-256-GCM (NIST SP 800-38D)
 * under the key-encryption key (KEK) from the environment.
 *
 * Each ciphertext is bound to its key id through the additional
 * authenticated data, so a ciphertext copied onto another row does not
 * decrypt. A fresh 96-bit random IV per encryption; keys are written rarely
 * (once per rotation), far below GCM's random-IV limit of 2^32 messages.
 *
 * Rotating the KEK itself (docs/key-encryption.md) uses a ring of two: seal
 * under the current KEK, open with the current one and fall back to the
 * previous one, so every instance keeps working while the stored keys are
 * re-sealed (`server/operations/reseal-signing-keys.ts`).
 */

export interface SealedSecret {
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

export interface KeyEncryption {
  seal(plaintext: Uint8Array, context: string): Promise<SealedSecret>;
  /** Throws when the KEK is wrong, the data was altered, or the context differs. */
  open(sealed: SealedSecret, context: string): Promise<Uint8Array>;
}

const AAD_PREFIX = "lime-signing-key-v1:";

function aad(context: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(AAD_PREFIX + context);
}

/** Builds the sealer from 32 KEK bytes; the imported AES key is not extractable. */
export async function createKeyEncryption(kek: Uint8Array): Promise<KeyEncryption> {
  if (!(kek instanceof Uint8Array) || kek.length !== 32) {
    throw new RangeError("createKeyEncryption: kek must be 32 bytes");
  }
  const key = await crypto.subtle.importKey("raw", new Uint8Array(kek), { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);
  return {
    async seal(plaintext, context) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ciphertext = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: aad(context) },
        key,
        new Uint8Array(plaintext),
      );
      return { iv, ciphertext: new Uint8Array(ciphertext) };
    },
    async open(sealed, context) {
      const plaintext = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: new Uint8Array(sealed.iv), additionalData: aad(context) },
        key,
        new Uint8Array(sealed.ciphertext),
      );
      return new Uint8Array(plaintext);
    },
  };
}

/**
 * The KEK ring of a changeover: seals under `current` only, opens with
 * `current` and, when that fails, with `previous`. Without `previous` it is
 * exactly `createKeyEncryption(current)`.
 */
export async function createKeyEncryptionRing(
  current: Uint8Array,
  previous?: Uint8Array | null,
): Promise<KeyEncryption> {
  const primary = await createKeyEncryption(current);
  if (previous === undefined || previous === null) return primary;
  if (Buffer.from(previous).equals(Buffer.from(current))) {
    throw new RangeError("createKeyEncryptionRing: the previous kek must differ from the current one");
  }
  const fallback = await createKeyEncryption(previous);
  return {
    seal: (plaintext, context) => primary.seal(plaintext, context),
    async open(sealed, context) {
      try {
        return await primary.open(sealed, context);
      } catch {
        // The previous KEK's failure is the one reported: neither key opens it.
        return await fallback.open(sealed, context);
      }
    },
  };
}
