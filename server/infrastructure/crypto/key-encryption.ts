/**
 * Encryption at rest for private signing keys: AES-256-GCM (NIST SP 800-38D)
 * under the key-encryption key (KEK) from the environment.
 *
 * Each ciphertext is bound to its key id through the additional
 * authenticated data, so a ciphertext copied onto another row does not
 * decrypt. A fresh 96-bit random IV per encryption; keys are written rarely
 * (once per rotation), far below GCM's random-IV limit of 2^32 messages.
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
