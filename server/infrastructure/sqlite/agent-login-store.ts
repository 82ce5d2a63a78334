import type { Database } from "bun:sqlite";
import type { AgentLoginStore, OutcomeEvent } from "../../modules/agent-login/store.ts";
import { type OutcomeRow, type RequestRow, toOutcome, toRequest } from "../sql-rows/agent-login.ts";

// LEFT JOIN: a `revoked` outcome answers no login request.
const OUTCOME_COLUMNS = `o.id, o.site_id, o.login_request_id, o.type, o.created_at, o.expires_at, o.delivered_at,
  r.passport_jwt, r.redirect_url, o.revocation`;

export function createSqliteAgentLoginStore(db: Database): AgentLoginStore {
  const insert = db.query(
    `INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, redirect_url, created_at,
       expires_at, approved_agent_id, approved_at, passport_jwt, passport_expires_at, delivered_at,
       challenge_shown_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byId = db.query<RequestRow, [string]>("SELECT * FROM login_requests WHERE id = ?");
  const showChallenge = db.query<RequestRow, [number, number, string]>(
    `UPDATE login_requests SET pow_difficulty = MAX(pow_difficulty, ?1), challenge_shown_at = ?2
     WHERE id = ?3 AND status = 'PENDING' AND challenge_shown_at IS NULL RETURNING *`,
  );
  const approve = db.query<RequestRow, [string, number, string, number, string, number]>(
    `UPDATE login_requests
     SET status = 'APPROVED', approved_agent_id = ?1, approved_at = ?2, passport_jwt = ?3, passport_expires_at = ?4
     WHERE id = ?5 AND status = 'PENDING' AND expires_at > ?6
     RETURNING *`,
  );
  const appendOutcome = db.query<{ id: number }, [string, string, string, number, number]>(
    `INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at, delivered_at)
     VALUES (?, ?, ?, ?, ?, NULL) RETURNING id`,
  );
  const outcomeById = db.query<OutcomeRow, [number]>(
    `SELECT ${OUTCOME_COLUMNS} FROM login_outcomes o LEFT JOIN login_requests r ON r.id = o.login_request_id
     WHERE o.id = ?`,
  );
  const expire = db.query<RequestRow, [number]>(
    "UPDATE login_requests SET status = 'EXPIRED' WHERE status = 'PENDING' AND expires_at <= ? RETURNING *",
  );
  const appendRevoked = db.query<{ id: number }, [string, number, number, string]>(
    `INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at, delivered_at, revocation)
     SELECT id, NULL, 'revoked', ?2, ?3, NULL, ?4 FROM sites WHERE id = ?1 RETURNING id`,
  );
  const eventDelivered = db.query<{ login_request_id: string }, [number, number]>(
    "UPDATE login_outcomes SET delivered_at = COALESCE(delivered_at, ?) WHERE id = ? RETURNING login_request_id",
  );
  const requestDelivered = db.query(
    "UPDATE login_requests SET status = 'DELIVERED', delivered_at = ? WHERE id = ? AND status = 'APPROVED'",
  );
  const undelivered = db.query<OutcomeRow, [string, number]>(
    `SELECT ${OUTCOME_COLUMNS} FROM login_outcomes o LEFT JOIN login_requests r ON r.id = o.login_request_id
     WHERE o.site_id = ? AND o.delivered_at IS NULL AND o.expires_at > ? ORDER BY o.id`,
  );
  const after = db.query<OutcomeRow, [string, number, number]>(
    `SELECT ${OUTCOME_COLUMNS} FROM login_outcomes o LEFT JOIN login_requests r ON r.id = o.login_request_id
     WHERE o.site_id = ? AND o.id > ? AND o.expires_at > ? ORDER BY o.id`,
  );
  const recentOfSite = db.query<RequestRow, [string, number]>(
    "SELECT * FROM login_requests WHERE site_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
  );
  const recentOfAgent = db.query<RequestRow, [string, number]>(
    "SELECT * FROM login_requests WHERE approved_agent_id = ? ORDER BY approved_at DESC, id DESC LIMIT ?",
  );
  const dropOutcomes = db.query("DELETE FROM login_outcomes WHERE expires_at <= ?");
  const dropPassports = db.query(
    "UPDATE login_requests SET passport_jwt = NULL WHERE passport_jwt IS NOT NULL AND passport_expires_at <= ?",
  );
  const dropRequests = db.query(
    `DELETE FROM login_requests WHERE created_at < ?
     AND id NOT IN (SELECT login_request_id FROM login_outcomes WHERE login_request_id IS NOT NULL)`,
  );

  const approveTx = db.transaction(
    (id: string, agentId: string, passportJwt: string, passportExpiresAt: number, now: number) => {
      const row = approve.get(agentId, now, passportJwt, passportExpiresAt, id, now);
      if (!row) return null;
      const { id: eventId } = appendOutcome.get(row.site_id, row.id, "approved", now, passportExpiresAt)!;
      return { request: toRequest(row), event: toOutcome(outcomeById.get(eventId)!) };
    },
  );
  const expireTx = db.transaction((now: number, eventExpiresAt: number) => {
    const events: OutcomeEvent[] = [];
    for (const row of expire.all(now)) {
      const { id: eventId } = appendOutcome.get(row.site_id, row.id, "expired", now, eventExpiresAt)!;
      events.push(toOutcome(outcomeById.get(eventId)!));
    }
    return events;
  });
  const revokedTx = db.transaction(
    (siteIds: readonly string[], revocation: string, now: number, expiresAt: number) => {
      const events: OutcomeEvent[] = [];
      for (const siteId of siteIds) {
        const row = appendRevoked.get(siteId, now, expiresAt, revocation);
        if (row) events.push(toOutcome(outcomeById.get(row.id)!));
      }
      return events;
    },
  );
  const deliveredTx = db.transaction((eventId: number, now: number) => {
    const row = eventDelivered.get(now, eventId);
    if (row) requestDelivered.run(now, row.login_request_id);
  });
  const purgeTx = db.transaction((now: number, requestsBefore: number) => {
    dropOutcomes.run(now);
    dropPassports.run(now);
    dropRequests.run(requestsBefore);
  });

  return {
    async create(r) {
      insert.run(
        r.id,
        r.siteId,
        r.status,
        r.powChallenge,
        r.powDifficulty,
        r.redirectUrl,
        r.createdAt,
        r.expiresAt,
        r.approvedAgentId,
        r.approvedAt,
        r.passportJwt,
        r.passportExpiresAt,
        r.deliveredAt,
        r.challengeShownAt,
      );
    },
    async findById(id) {
      const row = byId.get(id);
      return row ? toRequest(row) : null;
    },
    async showChallenge(id, difficulty, now) {
      const row = showChallenge.get(difficulty, now, id);
      return row ? toRequest(row) : null;
    },
    async approve({ id, agentId, passportJwt, passportExpiresAt, now }) {
      return approveTx.immediate(id, agentId, passportJwt, passportExpiresAt, now);
    },
    async expireDue(now, eventExpiresAt) {
      return expireTx.immediate(now, eventExpiresAt);
    },
    async appendRevoked(siteIds, revocation, now, expiresAt) {
      return revokedTx.immediate([...new Set(siteIds)], JSON.stringify(revocation), now, expiresAt);
    },
    async markDelivered(eventId, now) {
      deliveredTx.immediate(eventId, now);
    },
    async undeliveredEvents(siteId, now) {
      return undelivered.all(siteId, now).map(toOutcome);
    },
    async eventsAfter(siteId, afterId, now) {
      return after.all(siteId, afterId, now).map(toOutcome);
    },
    async recentForSite(siteId, limit) {
      return recentOfSite.all(siteId, limit).map(toRequest);
    },
    async recentForAgent(agentId, limit) {
      return recentOfAgent.all(agentId, limit).map(toRequest);
    },
    async purge(now, requestsBefore) {
      purgeTx.immediate(now, requestsBefore);
    },
  };
}
