/** Signing keys at rest: public JWK in clear, private JWK sealed under the KEK. */

export type SigningKeyStatus = "NEXT" | "CURRENT" | "RETIRED";

export interface StoredSigningKey {
  kid: string;
  status: SigningKeyStatus;
  /** JSON of the public JWK. */
  publicJwk: string;
  /** AES-256-GCM ciphertext of the private JWK JSON, bound to `kid`. */
  sealedPrivateJwk: Uint8Array;
  iv: Uint8Array;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  /** A retired key is dropped from the JWKS after this instant (its last token has expired). */
  removeAfter: number | null;
}

export interface KeyStore {
  list(): Promise<StoredSigningKey[]>;
  /** Inserts the first CURRENT and NEXT keys if the store holds no key yet; `false` if another instance won. */
  bootstrap(current: StoredSigningKey, next: StoredSigningKey): Promise<boolean>;
  /**
   * One atomic rotation: CURRENT → RETIRED (kept until `retireUntil`),
   * NEXT → CURRENT, `next` inserted as the new NEXT. `false` when
   * `expectedCurrentKid` is no longer current (someone rotated first).
   */
  rotate(input: {
    expectedCurrentKid: string;
    retireUntil: number;
    next: StoredSigningKey;
    now: number;
  }): Promise<boolean>;
  deleteRemovable(now: number): Promise<number>;
  /**
   * Replaces a key's sealed private JWK with one sealed under another KEK, only
   * while the row still holds `expectedCiphertext` (a compare-and-swap, so two
   * re-seal runs, or a re-seal racing a rotation, never lose a key); `false` otherwise.
   */
  reseal(input: {
    kid: string;
    expectedCiphertext: Uint8Array;
    sealedPrivateJwk: Uint8Array;
    iv: Uint8Array;
  }): Promise<boolean>;
}
