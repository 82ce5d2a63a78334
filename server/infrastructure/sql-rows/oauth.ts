/**
 * The OAuth provider's rows, as the SQLite and PostgreSQL stores read them.
 * List columns (scopes, audience) and client metadata are JSON text in both.
 */

import type { ClientMetadata } from "../../modules/oauth/registration.ts";
import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  AuthorizationRequestRecord,
  GrantRecord,
  RefreshTokenRecord,
  RegisteredClientRecord,
  ResourceRecord,
  SubjectType,
} from "../../modules/oauth/store.ts";
import { type BigintColumn, millis, millisOrNull } from "./millis.ts";

export interface ClientRow {
  client_id: string;
  kind: string;
  agent_id: string | null;
  metadata: string;
  created_at: BigintColumn;
  updated_at: BigintColumn;
}

export const toClient = (row: ClientRow): RegisteredClientRecord => ({
  clientId: row.client_id,
  kind: row.kind as RegisteredClientRecord["kind"],
  agentId: row.agent_id,
  metadata: JSON.parse(row.metadata) as ClientMetadata,
  createdAt: millis(row.created_at),
  updatedAt: millis(row.updated_at),
});

export interface ResourceRow {
  id: string;
  resource: string;
  host: string;
  owner_id: string;
  display_name: string;
  scopes: string;
  introspection_token_hash: string;
  created_at: BigintColumn;
}

export const toResource = (row: ResourceRow): ResourceRecord => ({
  id: row.id,
  resource: row.resource,
  host: row.host,
  ownerId: row.owner_id,
  displayName: row.display_name,
  scopes: JSON.parse(row.scopes) as string[],
  introspectionTokenHash: row.introspection_token_hash,
  createdAt: millis(row.created_at),
});

export interface RequestRow {
  id: string;
  client_id: string;
  redirect_uri: string;
  state: string | null;
  code_challenge: string;
  resource: string;
  scopes: string;
  pow_challenge: string;
  pow_difficulty: number;
  agent_id: string | null;
  session_id: string | null;
  csrf_hash: string | null;
  status: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
}

export const toRequest = (row: RequestRow): AuthorizationRequestRecord => ({
  id: row.id,
  clientId: row.client_id,
  redirectUri: row.redirect_uri,
  state: row.state,
  codeChallenge: row.code_challenge,
  resource: row.resource,
  scopes: JSON.parse(row.scopes) as string[],
  powChallenge: row.pow_challenge,
  powDifficulty: row.pow_difficulty,
  agentId: row.agent_id,
  sessionId: row.session_id,
  csrfHash: row.csrf_hash,
  status: row.status as AuthorizationRequestRecord["status"],
  createdAt: millis(row.created_at),
  expiresAt: millis(row.expires_at),
});

export interface CodeRow {
  code_hash: string;
  grant_id: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  resource: string;
  scopes: string;
  subject_type: string;
  subject_id: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
  consumed_at: BigintColumn | null;
}

export const toCode = (row: CodeRow): AuthorizationCodeRecord => ({
  codeHash: row.code_hash,
  grantId: row.grant_id,
  clientId: row.client_id,
  redirectUri: row.redirect_uri,
  codeChallenge: row.code_challenge,
  resource: row.resource,
  scopes: JSON.parse(row.scopes) as string[],
  subjectType: row.subject_type as SubjectType,
  subjectId: row.subject_id,
  createdAt: millis(row.created_at),
  expiresAt: millis(row.expires_at),
  consumedAt: millisOrNull(row.consumed_at),
});

export interface GrantRow {
  id: string;
  client_id: string;
  subject_type: string;
  subject_id: string;
  resource: string;
  scopes: string;
  created_at: BigintColumn;
  revoked_at: BigintColumn | null;
  revoked_reason: string | null;
}

export const toGrant = (row: GrantRow): GrantRecord => ({
  id: row.id,
  clientId: row.client_id,
  subjectType: row.subject_type as SubjectType,
  subjectId: row.subject_id,
  resource: row.resource,
  scopes: JSON.parse(row.scopes) as string[],
  createdAt: millis(row.created_at),
  revokedAt: millisOrNull(row.revoked_at),
  revokedReason: row.revoked_reason,
});

export interface RefreshRow {
  token_hash: string;
  grant_id: string;
  status: string;
  created_at: BigintColumn;
  expires_at: BigintColumn;
}

export const toRefresh = (row: RefreshRow): RefreshTokenRecord => ({
  tokenHash: row.token_hash,
  grantId: row.grant_id,
  status: row.status as RefreshTokenRecord["status"],
  createdAt: millis(row.created_at),
  expiresAt: millis(row.expires_at),
});

export interface AccessRow {
  jti: string;
  grant_id: string | null;
  client_id: string;
  subject_type: string;
  subject_id: string;
  audience: string;
  scopes: string;
  issued_at: BigintColumn;
  expires_at: BigintColumn;
  revoked_at: BigintColumn | null;
}

export const toAccess = (row: AccessRow): AccessTokenRecord => ({
  jti: row.jti,
  grantId: row.grant_id,
  clientId: row.client_id,
  subjectType: row.subject_type as SubjectType,
  subjectId: row.subject_id,
  audience: JSON.parse(row.audience) as string[],
  scopes: JSON.parse(row.scopes) as string[],
  issuedAt: millis(row.issued_at),
  expiresAt: millis(row.expires_at),
  revokedAt: millisOrNull(row.revoked_at),
});
