import type { AgentKeyAlgorithm, AgentPublicJwk } from "@lime-ts/core/http-signatures";
import type { AgentKeyRecord } from "../../modules/agent-keys/store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

/** An `agent_keys` row, as the SQLite and PostgreSQL stores read it. */
export interface AgentKeyRow {
  kid: string;
  agent_id: string;
  owner_id: string;
  alg: string;
  jwk_json: string;
  label: string | null;
  created_at: BigintColumn;
  revoked_at: BigintColumn | null;
  directory_signature_input: string | null;
  directory_signature: string | null;
  directory_signature_expires_at: BigintColumn | null;
}

export function toAgentKey(row: AgentKeyRow): AgentKeyRecord {
  const signed =
    row.directory_signature_input !== null &&
    row.directory_signature !== null &&
    row.directory_signature_expires_at !== null;
  return {
    kid: row.kid,
    agentId: row.agent_id,
    ownerId: row.owner_id,
    alg: row.alg as AgentKeyAlgorithm,
    // Written by the store from a checked key (checkAgentPublicJwk); read back as it was written.
    jwk: JSON.parse(row.jwk_json) as AgentPublicJwk,
    label: row.label,
    createdAt: millis(row.created_at),
    revokedAt: millisOrNull(row.revoked_at),
    directorySignature: signed
      ? {
          signatureInput: row.directory_signature_input!,
          signature: row.directory_signature!,
          expiresAt: millis(row.directory_signature_expires_at!),
        }
      : null,
  };
}

/** The JWK as stored: only the members of its kind, in a fixed order. */
export function jwkJson(jwk: AgentPublicJwk): string {
  return JSON.stringify(
    jwk.kty === "EC"
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
  );
}
