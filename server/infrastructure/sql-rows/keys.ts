import type { SigningKeyStatus, StoredSigningKey } from "../../core/keys/store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** A `signing_keys` row, as the SQLite and PostgreSQL stores read it. */
export interface KeyRow {
  kid: string;
  status: string;
  public_jwk: string;
  /** BLOB in SQLite, BYTEA in PostgreSQL (a Buffer, which is a Uint8Array). */
  sealed_private_jwk: Uint8Array;
  iv: Uint8Array;
  created_at: BigintColumn;
  activated_at: BigintColumn | null;
  retired_at: BigintColumn | null;
  remove_after: BigintColumn | null;
}

export function toKey(row: KeyRow): StoredSigningKey {
  return {
    kid: row.kid,
    status: row.status as SigningKeyStatus,
    publicJwk: row.public_jwk,
    // BYTEA arrives as a Buffer; callers compare and decrypt plain Uint8Arrays (copied from SQLite's BLOB too).
    sealedPrivateJwk: new Uint8Array(row.sealed_private_jwk),
    iv: new Uint8Array(row.iv),
    createdAt: millis(row.created_at),
    activatedAt: millisOrNull(row.activated_at),
    retiredAt: millisOrNull(row.retired_at),
    removeAfter: millisOrNull(row.remove_after),
  };
}
