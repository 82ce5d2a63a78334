/**
 * The OAuth provider's stores on SQLite. Single-use steps are single
 * statements (`UPDATE … WHERE status = 'PENDING' … RETURNING`), and grant
 * revocation touches the grant, its refresh tokens and its access tokens in
 * one transaction.
 */

import type { Database } from "bun:sqlite";
import type {
  OAuthClientStore,
  OAuthFlowStore,
  OAuthStores,
  OAuthTokenStore,
  ResourceStore,
} from "../../modules/oauth/store.ts";
import { inBatches, PURGE_BATCH } from "../purge-batches.ts";
import {
  type AccessRow,
  type ClientRow,
  type CodeRow,
  type GrantRow,
  type RefreshRow,
  type RequestRow,
  type ResourceRow,
  toAccess,
  toClient,
  toCode,
  toGrant,
  toRefresh,
  toRequest,
  toResource,
} from "../sql-rows/oauth.ts";

function createClientStore(db: Database): OAuthClientStore {
  const insert = db.query(
    "INSERT INTO oauth_clients (client_id, kind, agent_id, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const upsert = db.query(
    `INSERT INTO oauth_clients (client_id, kind, agent_id, metadata, created_at, updated_at) VALUES (?, 'agent', ?, ?, ?, ?)
     ON CONFLICT (client_id) DO UPDATE SET metadata = excluded.metadata, updated_at = excluded.updated_at
     WHERE oauth_clients.kind = 'agent'`,
  );
  const byId = db.query<ClientRow, [string]>("SELECT * FROM oauth_clients WHERE client_id = ?");
  return {
    async create(c) {
      insert.run(c.clientId, c.kind, c.agentId, JSON.stringify(c.metadata), c.createdAt, c.updatedAt);
    },
    async find(clientId) {
      const row = byId.get(clientId);
      return row ? toClient(row) : null;
    },
    async upsertAgentClient(c) {
      upsert.run(c.clientId, c.agentId, JSON.stringify(c.metadata), c.createdAt, c.updatedAt);
    },
  };
}

function createResourceStore(db: Database): ResourceStore {
  const insert = db.query(
    `INSERT INTO oauth_resources (id, resource, host, owner_id, display_name, scopes, introspection_token_hash, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (resource) DO NOTHING`,
  );
  const byResource = db.query<ResourceRow, [string]>("SELECT * FROM oauth_resources WHERE resource = ?");
  const byTokenHash = db.query<ResourceRow, [string]>(
    "SELECT * FROM oauth_resources WHERE introspection_token_hash = ?",
  );
  const byHost = db.query<ResourceRow, [string]>(
    "SELECT * FROM oauth_resources WHERE host = ? ORDER BY resource",
  );
  // `name` itself, or `name:<port>`: every string from "name:" up to (not including) "name;" (":" + 1),
  // a range the host index serves.
  const byHostName = db.query<ResourceRow, [string]>(
    `SELECT * FROM oauth_resources WHERE host = ?1 OR (host >= ?1 || ':' AND host < ?1 || ';')
     ORDER BY resource`,
  );
  const byOwner = db.query<ResourceRow, [string]>(
    "SELECT * FROM oauth_resources WHERE owner_id = ? ORDER BY created_at, id",
  );
  const remove = db.query("DELETE FROM oauth_resources WHERE id = ? AND owner_id = ?");
  return {
    async create(r) {
      const result = insert.run(
        r.id,
        r.resource,
        r.host,
        r.ownerId,
        r.displayName,
        JSON.stringify(r.scopes),
        r.introspectionTokenHash,
        r.createdAt,
      );
      return result.changes === 1;
    },
    async findByResource(resource) {
      const row = byResource.get(resource);
      return row ? toResource(row) : null;
    },
    async findByIntrospectionTokenHash(hash) {
      const row = byTokenHash.get(hash);
      return row ? toResource(row) : null;
    },
    async listByHost(host) {
      return byHost.all(host).map(toResource);
    },
    async listByHostName(hostname) {
      return byHostName.all(hostname).map(toResource);
    },
    async listByOwner(ownerId) {
      return byOwner.all(ownerId).map(toResource);
    },
    async delete(id, ownerId) {
      return remove.run(id, ownerId).changes === 1;
    },
  };
}

function createFlowStore(db: Database): OAuthFlowStore {
  const insertRequest = db.query(
    `INSERT INTO oauth_authorization_requests (id, client_id, redirect_uri, state, code_challenge, resource, scopes,
       pow_challenge, pow_difficulty, agent_id, session_id, csrf_hash, status, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const requestById = db.query<RequestRow, [string]>(
    "SELECT * FROM oauth_authorization_requests WHERE id = ?",
  );
  const bind = db.query(
    `UPDATE oauth_authorization_requests SET session_id = ?, csrf_hash = ?
     WHERE id = ? AND status = 'PENDING' AND (session_id IS NULL OR session_id = ?)`,
  );
  const decide = db.query<RequestRow, [string, number]>(
    `UPDATE oauth_authorization_requests SET status = 'DECIDED'
     WHERE id = ? AND status = 'PENDING' AND expires_at > ? RETURNING *`,
  );
  const insertCode = db.query(
    `INSERT INTO oauth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, resource, scopes,
       subject_type, subject_id, created_at, expires_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
  );
  const consume = db.query<CodeRow, [number, string]>(
    "UPDATE oauth_codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL RETURNING *",
  );
  const codeByHash = db.query<CodeRow, [string]>("SELECT * FROM oauth_codes WHERE code_hash = ?");
  const purgeRequests = lapsedBatch(db, "oauth_authorization_requests", "id");
  const purgeCodes = lapsedBatch(db, "oauth_codes", "code_hash");
  return {
    async createAuthorizationRequest(r) {
      insertRequest.run(
        r.id,
        r.clientId,
        r.redirectUri,
        r.state,
        r.codeChallenge,
        r.resource,
        JSON.stringify(r.scopes),
        r.powChallenge,
        r.powDifficulty,
        r.agentId,
        r.sessionId,
        r.csrfHash,
        r.status,
        r.createdAt,
        r.expiresAt,
      );
    },
    async findAuthorizationRequest(id) {
      const row = requestById.get(id);
      return row ? toRequest(row) : null;
    },
    async bindConsent(id, sessionId, csrfHash) {
      return bind.run(sessionId, csrfHash, id, sessionId).changes === 1;
    },
    async decide(id, now) {
      const row = decide.get(id, now);
      return row ? toRequest(row) : null;
    },
    async createCode(c) {
      insertCode.run(
        c.codeHash,
        c.grantId,
        c.clientId,
        c.redirectUri,
        c.codeChallenge,
        c.resource,
        JSON.stringify(c.scopes),
        c.subjectType,
        c.subjectId,
        c.createdAt,
        c.expiresAt,
      );
    },
    async consumeCode(codeHash, now) {
      const first = consume.get(now, codeHash);
      if (first) return { code: toCode(first), firstUse: true };
      const seen = codeByHash.get(codeHash);
      return seen ? { code: toCode(seen), firstUse: false } : null;
    },
    async purge(now) {
      await inBatches(() => purgeRequests.run(now, PURGE_BATCH).changes);
      // Used codes are kept until they expire, so a replay inside their lifetime is still recognised.
      await inBatches(() => purgeCodes.run(now, PURGE_BATCH).changes);
    },
  };
}

function createTokenStore(db: Database): OAuthTokenStore {
  const insertGrant = db.query(
    `INSERT INTO oauth_grants (id, client_id, subject_type, subject_id, resource, scopes, created_at, revoked_at,
       revoked_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const grantById = db.query<GrantRow, [string]>("SELECT * FROM oauth_grants WHERE id = ?");
  const revokeGrantRow = db.query(
    "UPDATE oauth_grants SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
  );
  const revokeGrantRefresh = db.query(
    "UPDATE oauth_refresh_tokens SET status = 'REVOKED' WHERE grant_id = ? AND status <> 'REVOKED'",
  );
  const revokeGrantAccess = db.query(
    "UPDATE oauth_access_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
  );
  const revokeAll = db.transaction((id: string, now: number, reason: string) => {
    revokeGrantRow.run(now, reason, id);
    revokeGrantRefresh.run(id);
    revokeGrantAccess.run(now, id);
  });
  const insertRefresh = db.query(
    "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
  );
  const refreshByHash = db.query<RefreshRow, [string]>(
    "SELECT * FROM oauth_refresh_tokens WHERE token_hash = ?",
  );
  const rotate = db.query<RefreshRow, [string]>(
    "UPDATE oauth_refresh_tokens SET status = 'ROTATED' WHERE token_hash = ? AND status = 'ACTIVE' RETURNING *",
  );
  const insertAccess = db.query(
    `INSERT INTO oauth_access_tokens (jti, grant_id, client_id, subject_type, subject_id, audience, scopes, issued_at,
       expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const accessByJti = db.query<AccessRow, [string]>("SELECT * FROM oauth_access_tokens WHERE jti = ?");
  const revokeAccess = db.query(
    "UPDATE oauth_access_tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL",
  );
  const dropLapsedAssertion = db.query(
    "DELETE FROM oauth_assertion_ids WHERE client_id = ? AND jti = ? AND expires_at <= ?",
  );
  const insertAssertion = db.query(
    "INSERT INTO oauth_assertion_ids (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  );
  const useAssertion = db.transaction((clientId: string, jti: string, expiresAt: number, now: number) => {
    dropLapsedAssertion.run(clientId, jti, now);
    return insertAssertion.run(clientId, jti, expiresAt).changes === 1;
  });
  const purgeAccess = lapsedBatch(db, "oauth_access_tokens", "jti");
  const purgeAssertions = lapsedBatch(db, "oauth_assertion_ids", "rowid");
  const purgeRefresh = lapsedBatch(db, "oauth_refresh_tokens", "token_hash");
  // Grants have no time index: the purge walks them in primary-key order, a chunk per transaction and
  // at most PURGE_BATCHES_PER_TICK chunks per tick, from where the last tick stopped, so its work per
  // tick is bounded whatever the number of live grants.
  const grantChunk = db.query<{ id: string }, [string, number]>(
    "SELECT id FROM oauth_grants WHERE id > ? ORDER BY id LIMIT ?",
  );
  const purgeGrant = db.query<never, [string, number]>(
    `DELETE FROM oauth_grants WHERE id = ? AND created_at <= ?
       AND NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.grant_id = oauth_grants.id)
       AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = oauth_grants.id)
       AND NOT EXISTS (SELECT 1 FROM oauth_access_tokens a WHERE a.grant_id = oauth_grants.id)`,
  );
  let grantCursor = "";
  const purgeGrantsChunk = db.transaction((createdBefore: number) => {
    const chunk = grantChunk.all(grantCursor, PURGE_BATCH);
    for (const { id } of chunk) purgeGrant.run(id, createdBefore);
    // Grant ids are never empty, so "" starts the walk over (at the next tick: a short chunk ends this one).
    grantCursor = chunk.length < PURGE_BATCH ? "" : chunk.at(-1)!.id;
    return chunk.length;
  });
  return {
    async createGrant(g) {
      insertGrant.run(
        g.id,
        g.clientId,
        g.subjectType,
        g.subjectId,
        g.resource,
        JSON.stringify(g.scopes),
        g.createdAt,
        g.revokedAt,
        g.revokedReason,
      );
    },
    async findGrant(id) {
      const row = grantById.get(id);
      return row ? toGrant(row) : null;
    },
    async revokeGrant(id, now, reason) {
      revokeAll.immediate(id, now, reason);
    },
    async createRefreshToken(r) {
      insertRefresh.run(r.tokenHash, r.grantId, r.status, r.createdAt, r.expiresAt);
    },
    async findRefreshToken(tokenHash) {
      const row = refreshByHash.get(tokenHash);
      return row ? toRefresh(row) : null;
    },
    async rotateRefreshToken(tokenHash) {
      const row = rotate.get(tokenHash);
      if (row) return { token: toRefresh(row), rotated: true };
      const seen = refreshByHash.get(tokenHash);
      return seen ? { token: toRefresh(seen), rotated: false } : null;
    },
    async recordAccessToken(a) {
      insertAccess.run(
        a.jti,
        a.grantId,
        a.clientId,
        a.subjectType,
        a.subjectId,
        JSON.stringify(a.audience),
        JSON.stringify(a.scopes),
        a.issuedAt,
        a.expiresAt,
        a.revokedAt,
      );
    },
    async findAccessToken(jti) {
      const row = accessByJti.get(jti);
      return row ? toAccess(row) : null;
    },
    async revokeAccessToken(jti, now) {
      revokeAccess.run(now, jti);
    },
    async useAssertionId(clientId, jti, expiresAt, now) {
      return useAssertion.immediate(clientId, jti, expiresAt, now);
    },
    async purge(now) {
      await inBatches(() => purgeAccess.run(now, PURGE_BATCH).changes);
      await inBatches(() => purgeAssertions.run(now, PURGE_BATCH).changes);
      await inBatches(() => purgeRefresh.run(now, PURGE_BATCH).changes);
      // A grant with nothing left under it is history; one day of slack keeps fresh grants mid-exchange.
      await inBatches(() => purgeGrantsChunk.immediate(now - 86_400_000));
    },
  };
}

/**
 * One bounded batch of a table's lapsed rows: keys from a walk of its expiry
 * index, oldest first, then a delete by key (`rowid` for a composite key).
 */
function lapsedBatch(db: Database, table: string, key: string) {
  return db.query<never, [number, number]>(
    `DELETE FROM ${table} WHERE ${key} IN
       (SELECT ${key} FROM ${table} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  );
}

export function createSqliteOAuthStores(db: Database): OAuthStores {
  return {
    clients: createClientStore(db),
    resources: createResourceStore(db),
    flows: createFlowStore(db),
    tokens: createTokenStore(db),
  };
}
