import type { Database } from "bun:sqlite";
import type { KeyStore, StoredSigningKey } from "../../core/keys/store.ts";
import { type KeyRow, toKey } from "../sql-rows/keys.ts";

export function createSqliteKeyStore(db: Database): KeyStore {
  const all = db.query<KeyRow, []>("SELECT * FROM signing_keys ORDER BY created_at, kid");
  const count = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signing_keys");
  const insert = db.query(
    `INSERT INTO signing_keys (kid, status, public_jwk, sealed_private_jwk, iv, created_at, activated_at, retired_at,
       remove_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const retire = db.query(
    `UPDATE signing_keys SET status = 'RETIRED', retired_at = ?, remove_after = ?
     WHERE kid = ? AND status = 'CURRENT'`,
  );
  const promote = db.query(
    "UPDATE signing_keys SET status = 'CURRENT', activated_at = ? WHERE status = 'NEXT'",
  );
  const removable = db.query("DELETE FROM signing_keys WHERE status = 'RETIRED' AND remove_after <= ?");
  // BLOB equality compares bytes; the new IV travels with the new ciphertext.
  const reseal = db.query(
    "UPDATE signing_keys SET sealed_private_jwk = ?, iv = ? WHERE kid = ? AND sealed_private_jwk = ?",
  );

  const put = (k: StoredSigningKey) =>
    insert.run(
      k.kid,
      k.status,
      k.publicJwk,
      k.sealedPrivateJwk,
      k.iv,
      k.createdAt,
      k.activatedAt,
      k.retiredAt,
      k.removeAfter,
    );

  const bootstrap = db.transaction((current: StoredSigningKey, next: StoredSigningKey) => {
    if (count.get()!.n > 0) return false;
    put(current);
    put(next);
    return true;
  });

  const rotate = db.transaction(
    (expectedCurrentKid: string, retireUntil: number, next: StoredSigningKey, now: number) => {
      if (retire.run(now, retireUntil, expectedCurrentKid).changes !== 1) return false;
      if (promote.run(now).changes !== 1) throw new Error("key store holds no NEXT key to promote");
      put(next);
      return true;
    },
  );

  return {
    async list() {
      return all.all().map(toKey);
    },
    async bootstrap(current, next) {
      return bootstrap.immediate(current, next);
    },
    async rotate({ expectedCurrentKid, retireUntil, next, now }) {
      return rotate.immediate(expectedCurrentKid, retireUntil, next, now);
    },
    async deleteRemovable(now) {
      return removable.run(now).changes;
    },
    async reseal({ kid, expectedCiphertext, sealedPrivateJwk, iv }) {
      return reseal.run(sealedPrivateJwk, iv, kid, expectedCiphertext).changes === 1;
    },
  };
}
