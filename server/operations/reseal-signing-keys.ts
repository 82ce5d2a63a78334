/**
 * Re-sealing the stored signing keys under a new key-encryption key: the
 * middle step of a KEK rotation (docs/key-encryption.md).
 *
 * Every stored key (CURRENT, NEXT and RETIRED) is opened with the new KEK or,
 * failing that, with the old one, sealed again under the new KEK with a fresh
 * IV, checked to open, and written with a compare-and-swap on the ciphertext
 * it was read with. Keys already under the new KEK are left alone, so a second
 * run changes nothing. Running servers only read these rows and CAS-rotate
 * them (a rotation changes the status, never the sealed bytes), so the
 * operation is safe while they serve; a row that changed under us is read
 * again, and a row removed in the meantime is simply gone.
 *
 * @example
 * const report = await resealSigningKeys({
 *   keys: stores.keys,
 *   from: await createKeyEncryption(oldKek),
 *   to: await createKeyEncryption(newKek),
 * });
 */

import type { KeyStore, StoredSigningKey } from "../core/keys/store.ts";
import { createKeyEncryption, type KeyEncryption } from "../infrastructure/crypto/key-encryption.ts";

/** How often one row is read again after losing its compare-and-swap before it counts as failed. */
const MAX_ATTEMPTS = 5;

export interface ResealInput {
  keys: KeyStore;
  /** The old KEK (the one being retired), or a sealer for it: opens keys not yet re-sealed. */
  from: KeyEncryption | Uint8Array;
  /**
   * The new KEK alone, or a sealer for it alone (not a ring that also accepts the
   * old KEK): opens keys already re-sealed, seals the rest.
   */
  to: KeyEncryption | Uint8Array;
}

interface Sealers {
  keys: KeyStore;
  from: KeyEncryption;
  to: KeyEncryption;
}

export interface ResealReport {
  /** Keys this run moved from the old KEK to the new one. */
  resealed: number;
  /** Keys found already sealed under the new KEK (fresh keys, an earlier or concurrent run). */
  alreadyCurrent: number;
  /** Keys deleted (expired RETIRED keys) between the listing and their turn. */
  removed: number;
  /** Keys neither KEK opens, or whose row kept changing; left untouched. */
  failed: string[];
}

type Outcome = "resealed" | "alreadyCurrent" | "removed" | "failed";

async function opens(encryption: KeyEncryption, record: StoredSigningKey): Promise<Uint8Array | null> {
  try {
    return await encryption.open({ iv: record.iv, ciphertext: record.sealedPrivateJwk }, record.kid);
  } catch {
    return null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

async function resealOne(input: Sealers, first: StoredSigningKey): Promise<Outcome> {
  let record: StoredSigningKey | undefined = first;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (record === undefined) return "removed";
    const already = await opens(input.to, record);
    if (already !== null) {
      already.fill(0);
      return "alreadyCurrent";
    }
    const plaintext = await opens(input.from, record);
    if (plaintext === null) return "failed";
    try {
      const sealed = await input.to.seal(plaintext, record.kid);
      // The old ciphertext is about to be overwritten: make sure the new one opens to the same bytes first.
      const check = await input.to.open(sealed, record.kid);
      const intact = sameBytes(check, plaintext);
      check.fill(0);
      if (!intact) return "failed";
      const swapped = await input.keys.reseal({
        kid: record.kid,
        expectedCiphertext: record.sealedPrivateJwk,
        sealedPrivateJwk: sealed.ciphertext,
        iv: sealed.iv,
      });
      if (swapped) return "resealed";
    } finally {
      plaintext.fill(0);
    }
    // Someone else wrote the row (another run): look at what it holds now.
    const kid: string = record.kid;
    record = (await input.keys.list()).find((k) => k.kid === kid);
  }
  return "failed";
}

/** Re-seals every stored signing key under `to`; idempotent, and safe while servers run. */
export async function resealSigningKeys(input: ResealInput): Promise<ResealReport> {
  if (input.from instanceof Uint8Array && input.to instanceof Uint8Array && sameBytes(input.from, input.to)) {
    throw new RangeError("resealSigningKeys: the old and the new key-encryption keys are the same");
  }
  const sealers: Sealers = {
    keys: input.keys,
    from: input.from instanceof Uint8Array ? await createKeyEncryption(input.from) : input.from,
    to: input.to instanceof Uint8Array ? await createKeyEncryption(input.to) : input.to,
  };
  const report: ResealReport = { resealed: 0, alreadyCurrent: 0, removed: 0, failed: [] };
  for (const record of await input.keys.list()) {
    const outcome = await resealOne(sealers, record);
    if (outcome === "failed") report.failed.push(record.kid);
    else report[outcome] += 1;
  }
  return report;
}
