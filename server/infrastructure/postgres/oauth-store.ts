/**
 * The OAuth provider's stores on PostgreSQL, behaving as the SQLite ones do
 * (sqlite/oauth-store.ts).
 *
 * Every single-use step is one conditional statement (`UPDATE … WHERE
 * status = 'PENDING' / consumed_at IS NULL / status = 'ACTIVE' … RETURNING`,
 * `INSERT … ON CONFLICT DO NOTHING`). Under READ COMMITTED a second
 * connection racing for the same row waits for the first one's row lock,
 * then re-evaluates its WHERE on the committed row and matches nothing, so
 * exactly one caller wins, across connections and instances. The loser's
 * follow-up read (a replayed code, a reused refresh token) is a new
 * statement and sees the winner's commit.
 *
 * Text that SQLite orders (resource URIs, ids as tie-breakers) and the
 * host-name range are compared with COLLATE "C": byte order, as SQLite
 * compares, whatever locale the database was created with.
 */

import type {
  OAuthClientStore,
  OAuthFlowStore,
  OAuthStores,
  OAuthTokenStore,
  ResourceStore,
} from "../../modules/oauth/store.ts";
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
import type { Sql } from "./connection.ts";
import { deleteLapsed, inBatches, PURGE_BATCH } from "./purge.ts";

function createClientStore(sql: Sql): OAuthClientStore {
  return {
    async create(c) {
      await sql`INSERT INTO oauth_clients (client_id, kind, agent_id, metadata, created_at, updated_at)
                VALUES (${c.clientId}, ${c.kind}, ${c.agentId}, ${JSON.stringify(c.metadata)}, ${c.createdAt},
                        ${c.updatedAt})`;
    },
    async find(clientId) {
      const [row]: ClientRow[] = await sql`SELECT * FROM oauth_clients WHERE client_id = ${clientId}`;
      return row ? toClient(row) : null;
    },
    async upsertAgentClient(c) {
      // Replaces only an agent's client: a dynamic client with the same id is left alone.
      await sql`INSERT INTO oauth_clients (client_id, kind, agent_id, metadata, created_at, updated_at)
                VALUES (${c.clientId}, 'agent', ${c.agentId}, ${JSON.stringify(c.metadata)}, ${c.createdAt},
                        ${c.updatedAt})
                ON CONFLICT (client_id) DO UPDATE SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
                WHERE oauth_clients.kind = 'agent'`;
    },
  };
}

function createResourceStore(sql: Sql): ResourceStore {
  return {
    async create(r) {
      // A concurrent registration of the same URI waits for the first and then does nothing.
      const result = await sql`
        INSERT INTO oauth_resources (id, resource, host, owner_id, display_name, scopes, introspection_token_hash,
          created_at)
        VALUES (${r.id}, ${r.resource}, ${r.host}, ${r.ownerId}, ${r.displayName}, ${JSON.stringify(r.scopes)},
          ${r.introspectionTokenHash}, ${r.createdAt})
        ON CONFLICT (resource) DO NOTHING`;
      return result.count === 1;
    },
    async findByResource(resource) {
      const [row]: ResourceRow[] = await sql`SELECT * FROM oauth_resources WHERE resource = ${resource}`;
      return row ? toResource(row) : null;
    },
    async findByIntrospectionTokenHash(hash) {
      const [row]: ResourceRow[] =
        await sql`SELECT * FROM oauth_resources WHERE introspection_token_hash = ${hash}`;
      return row ? toResource(row) : null;
    },
    async listByHost(host) {
      const rows: ResourceRow[] = await sql`
        SELECT * FROM oauth_resources WHERE host = ${host} ORDER BY resource COLLATE "C"`;
      return rows.map(toResource);
    },
    async listByHostName(hostname) {
      // `name` itself, or `name:<port>`: every string from "name:" up to (not including) "name;"
      // (":" + 1) in byte order, a range the index on host COLLATE "C" (migration 3) serves.
      const rows: ResourceRow[] = await sql`
        SELECT * FROM oauth_resources
        WHERE host COLLATE "C" = ${hostname}::text
           OR (host COLLATE "C" >= ${hostname}::text || ':' AND host COLLATE "C" < ${hostname}::text || ';')
        ORDER BY resource COLLATE "C"`;
      return rows.map(toResource);
    },
    async listByOwner(ownerId) {
      const rows: ResourceRow[] = await sql`
        SELECT * FROM oauth_resources WHERE owner_id = ${ownerId} ORDER BY created_at, id COLLATE "C"`;
      return rows.map(toResource);
    },
    async delete(id, ownerId) {
      const result = await sql`DELETE FROM oauth_resources WHERE id = ${id} AND owner_id = ${ownerId}`;
      return result.count === 1;
    },
  };
}

function createFlowStore(sql: Sql): OAuthFlowStore {
  return {
    async createAuthorizationRequest(r) {
      await sql`
        INSERT INTO oauth_authorization_requests (id, client_id, redirect_uri, state, code_challenge, resource, scopes,
          pow_challenge, pow_difficulty, agent_id, session_id, csrf_hash, status, created_at, expires_at)
        VALUES (${r.id}, ${r.clientId}, ${r.redirectUri}, ${r.state}, ${r.codeChallenge}, ${r.resource},
          ${JSON.stringify(r.scopes)}, ${r.powChallenge}, ${r.powDifficulty}, ${r.agentId}, ${r.sessionId},
          ${r.csrfHash}, ${r.status}, ${r.createdAt}, ${r.expiresAt})`;
    },
    async findAuthorizationRequest(id) {
      const [row]: RequestRow[] = await sql`SELECT * FROM oauth_authorization_requests WHERE id = ${id}`;
      return row ? toRequest(row) : null;
    },
    async bindConsent(id, sessionId, csrfHash) {
      // A second session racing the first waits, re-reads session_id, and no longer matches.
      const result = await sql`
        UPDATE oauth_authorization_requests SET session_id = ${sessionId}, csrf_hash = ${csrfHash}
        WHERE id = ${id} AND status = 'PENDING' AND (session_id IS NULL OR session_id = ${sessionId})`;
      return result.count === 1;
    },
    async decide(id, now) {
      const [row]: RequestRow[] = await sql`
        UPDATE oauth_authorization_requests SET status = 'DECIDED'
        WHERE id = ${id} AND status = 'PENDING' AND expires_at > ${now} RETURNING *`;
      return row ? toRequest(row) : null;
    },
    async createCode(c) {
      await sql`
        INSERT INTO oauth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, resource, scopes,
          subject_type, subject_id, created_at, expires_at, consumed_at)
        VALUES (${c.codeHash}, ${c.grantId}, ${c.clientId}, ${c.redirectUri}, ${c.codeChallenge}, ${c.resource},
          ${JSON.stringify(c.scopes)}, ${c.subjectType}, ${c.subjectId}, ${c.createdAt}, ${c.expiresAt}, NULL)`;
    },
    async consumeCode(codeHash, now) {
      const [first]: CodeRow[] = await sql`
        UPDATE oauth_codes SET consumed_at = ${now} WHERE code_hash = ${codeHash} AND consumed_at IS NULL
        RETURNING *`;
      if (first) return { code: toCode(first), firstUse: true };
      const [seen]: CodeRow[] = await sql`SELECT * FROM oauth_codes WHERE code_hash = ${codeHash}`;
      return seen ? { code: toCode(seen), firstUse: false } : null;
    },
    async purge(now) {
      await deleteLapsed(sql, ["oauth_authorization_requests", "id"], now);
      // Used codes are kept until they expire, so a replay inside their lifetime is still recognised.
      await deleteLapsed(sql, ["oauth_codes", "code_hash"], now);
    },
  };
}

function createTokenStore(sql: Sql): OAuthTokenStore {
  const grantCursor = { after: "" };
  return {
    async createGrant(g) {
      await sql`
        INSERT INTO oauth_grants (id, client_id, subject_type, subject_id, resource, scopes, created_at, revoked_at,
          revoked_reason)
        VALUES (${g.id}, ${g.clientId}, ${g.subjectType}, ${g.subjectId}, ${g.resource}, ${JSON.stringify(g.scopes)},
          ${g.createdAt}, ${g.revokedAt}, ${g.revokedReason})`;
    },
    async findGrant(id) {
      const [row]: GrantRow[] = await sql`SELECT * FROM oauth_grants WHERE id = ${id}`;
      return row ? toGrant(row) : null;
    },
    async revokeGrant(id, now, reason) {
      // The grant, its refresh tokens and its access tokens in one statement, hence one transaction.
      // A grant revoked before keeps its first time and reason; its tokens are revoked regardless.
      await sql`
        WITH grant_row AS (
          UPDATE oauth_grants SET revoked_at = ${now}, revoked_reason = ${reason}
          WHERE id = ${id} AND revoked_at IS NULL
        ), refresh AS (
          UPDATE oauth_refresh_tokens SET status = 'REVOKED' WHERE grant_id = ${id} AND status <> 'REVOKED'
        )
        UPDATE oauth_access_tokens SET revoked_at = ${now} WHERE grant_id = ${id} AND revoked_at IS NULL`;
    },
    async createRefreshToken(r) {
      await sql`
        INSERT INTO oauth_refresh_tokens (token_hash, grant_id, status, created_at, expires_at)
        VALUES (${r.tokenHash}, ${r.grantId}, ${r.status}, ${r.createdAt}, ${r.expiresAt})`;
    },
    async findRefreshToken(tokenHash) {
      const [row]: RefreshRow[] =
        await sql`SELECT * FROM oauth_refresh_tokens WHERE token_hash = ${tokenHash}`;
      return row ? toRefresh(row) : null;
    },
    async rotateRefreshToken(tokenHash) {
      const [row]: RefreshRow[] = await sql`
        UPDATE oauth_refresh_tokens SET status = 'ROTATED' WHERE token_hash = ${tokenHash} AND status = 'ACTIVE'
        RETURNING *`;
      if (row) return { token: toRefresh(row), rotated: true };
      const [seen]: RefreshRow[] =
        await sql`SELECT * FROM oauth_refresh_tokens WHERE token_hash = ${tokenHash}`;
      return seen ? { token: toRefresh(seen), rotated: false } : null;
    },
    async recordAccessToken(a) {
      await sql`
        INSERT INTO oauth_access_tokens (jti, grant_id, client_id, subject_type, subject_id, audience, scopes,
          issued_at, expires_at, revoked_at)
        VALUES (${a.jti}, ${a.grantId}, ${a.clientId}, ${a.subjectType}, ${a.subjectId}, ${JSON.stringify(a.audience)},
          ${JSON.stringify(a.scopes)}, ${a.issuedAt}, ${a.expiresAt}, ${a.revokedAt})`;
    },
    async findAccessToken(jti) {
      const [row]: AccessRow[] = await sql`SELECT * FROM oauth_access_tokens WHERE jti = ${jti}`;
      return row ? toAccess(row) : null;
    },
    async revokeAccessToken(jti, now) {
      await sql`UPDATE oauth_access_tokens SET revoked_at = ${now} WHERE jti = ${jti} AND revoked_at IS NULL`;
    },
    async useAssertionId(clientId, jti, expiresAt, now) {
      // Two statements in one transaction: a lapsed record of the same id goes first, then the
      // insert either records this use or meets a live record (a concurrent insert of the same id
      // waits for the first to commit and then does nothing).
      return sql.begin(async (tx) => {
        await tx`DELETE FROM oauth_assertion_ids
                 WHERE client_id = ${clientId} AND jti = ${jti} AND expires_at <= ${now}`;
        const result = await tx`INSERT INTO oauth_assertion_ids (client_id, jti, expires_at)
                                VALUES (${clientId}, ${jti}, ${expiresAt}) ON CONFLICT DO NOTHING`;
        return result.count === 1;
      });
    },
    async purge(now) {
      await deleteLapsed(sql, ["oauth_access_tokens", "jti"], now);
      await deleteLapsed(sql, ["oauth_assertion_ids", "ctid"], now);
      await deleteLapsed(sql, ["oauth_refresh_tokens", "token_hash"], now);
      // A grant with nothing left under it is history; one day of slack keeps fresh grants mid-exchange.
      await purgeEmptyGrants(sql, grantCursor, now - 86_400_000);
    },
  };
}

/**
 * Deletes grants created by `createdBefore` with no code, refresh token or
 * access token left. Grants have no time index (nor in SQLite), so this walks
 * them in primary-key order, a bounded chunk per statement and at most
 * PURGE_BATCHES_PER_TICK chunks per tick, from where the last tick stopped
 * (`cursor`): a tick's work is bounded whatever the number of live grants,
 * and the walk starts over at the tick after it reached the end.
 */
async function purgeEmptyGrants(sql: Sql, cursor: { after: string }, createdBefore: number): Promise<void> {
  await inBatches(() => purgeGrantChunk(sql, cursor, createdBefore));
}

async function purgeGrantChunk(sql: Sql, cursor: { after: string }, createdBefore: number): Promise<number> {
  const [step]: Array<{ last: string | null; walked: string }> = await sql`
    WITH chunk AS (
      SELECT id FROM oauth_grants WHERE id > ${cursor.after}::text ORDER BY id LIMIT ${PURGE_BATCH}
    ), gone AS (
      DELETE FROM oauth_grants g
      WHERE g.id = ANY(ARRAY(SELECT id FROM chunk)) AND g.created_at <= ${createdBefore}
        AND NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.grant_id = g.id)
        AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = g.id)
        AND NOT EXISTS (SELECT 1 FROM oauth_access_tokens a WHERE a.grant_id = g.id)
    )
    SELECT (SELECT max(id) FROM chunk) AS last, (SELECT count(*) FROM chunk) AS walked`;
  // Grant ids are never empty, so "" is below the first of them.
  const walked = Number(step?.walked ?? 0);
  cursor.after = !step?.last || walked < PURGE_BATCH ? "" : step.last;
  return walked;
}

export function createPostgresOAuthStores(sql: Sql): OAuthStores {
  return {
    clients: createClientStore(sql),
    resources: createResourceStore(sql),
    flows: createFlowStore(sql),
    tokens: createTokenStore(sql),
  };
}
