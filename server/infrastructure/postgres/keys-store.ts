import type { KeyStore, StoredSigningKey } from "../../core/keys/store.ts";
import { type KeyRow, toKey } from "../sql-rows/keys.ts";
import type { Sql } from "./connection.ts";

/** Inserts one key; `tx` is the transaction it belongs to. */
async function put(tx: Sql, k: StoredSigningKey): Promise<void> {
  await tx`
    INSERT INTO signing_keys (kid, status, public_jwk, sealed_private_jwk, iv, created_at, activated_at, retired_at,
      remove_after)
    VALUES (${k.kid}, ${k.status}, ${k.publicJwk}, ${k.sealedPrivateJwk}, ${k.iv}, ${k.createdAt}, ${k.activatedAt},
            ${k.retiredAt}, ${k.removeAfter})`;
}

export function createPostgresKeyStore(sql: Sql): KeyStore {
  return {
    async list() {
      // "C" orders the tiebreak by bytes, as SQLite's BINARY collation does, whatever the database's locale.
      const rows: KeyRow[] = await sql`SELECT * FROM signing_keys ORDER BY created_at, kid COLLATE "C"`;
      return rows.map(toKey);
    },
    async bootstrap(current, next) {
      return sql.begin(async (tx) => {
        // "Insert if the table is empty" needs the table held still between the check and the
        // inserts: this mode excludes every other writer (and another bootstrap) but not readers,
        // so instances booting together queue here and all but the first find keys and back off.
        await tx`LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`;
        const [{ present }] = await tx`SELECT EXISTS (SELECT 1 FROM signing_keys) AS present`;
        if (present) return false;
        await put(tx, current);
        await put(tx, next);
        return true;
      });
    },
    async rotate({ expectedCurrentKid, retireUntil, next, now }) {
      return sql.begin(async (tx) => {
        // The compare-and-swap: retiring the expected CURRENT row locks it, so a rival rotation
        // (any instance) waits here, then re-reads the row, finds it RETIRED, and changes nothing.
        // The order also keeps the partial unique indexes satisfied at every step: the old
        // CURRENT goes before NEXT becomes CURRENT, and NEXT is gone before the new one arrives.
        const retired = await tx`
          UPDATE signing_keys SET status = 'RETIRED', retired_at = ${now}, remove_after = ${retireUntil}
          WHERE kid = ${expectedCurrentKid} AND status = 'CURRENT'`;
        if (retired.count !== 1) return false;
        const promoted = await tx`
          UPDATE signing_keys SET status = 'CURRENT', activated_at = ${now} WHERE status = 'NEXT'`;
        // Thrown, so the transaction rolls back and the CURRENT key stays.
        if (promoted.count !== 1) throw new Error("key store holds no NEXT key to promote");
        await put(tx, next);
        return true;
      });
    },
    async deleteRemovable(now) {
      return (await sql`DELETE FROM signing_keys WHERE status = 'RETIRED' AND remove_after <= ${now}`).count;
    },
    async reseal({ kid, expectedCiphertext, sealedPrivateJwk, iv }) {
      // BYTEA equality compares bytes; the new IV travels with the new ciphertext. A rival
      // re-seal waits on the row lock, then re-checks the bytes and no longer matches.
      const result = await sql`
        UPDATE signing_keys SET sealed_private_jwk = ${sealedPrivateJwk}, iv = ${iv}
        WHERE kid = ${kid} AND sealed_private_jwk = ${expectedCiphertext}`;
      return result.count === 1;
    },
  };
}
