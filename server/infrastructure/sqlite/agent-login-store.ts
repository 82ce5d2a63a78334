import type { Database } from "bun:sqlite";
import type { AuditEventRecord } from "../../foundation/audit/store.ts";
import type { AgentLoginStore, LoginRequestRecord, OutcomeEvent } from "../../modules/agent-login/store.ts";
import { inBatches, PURGE_BATCH } from "../purge-batches.ts";
import { type OutcomeRow, type RequestRow, toOutcome, toRequest } from "../sql-rows/agent-login.ts";
import { millis } from "../sql-rows/millis.ts";
import { prepareAuditInsert } from "./audit-store.ts";

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
  // One bounded batch of due requests, oldest expiry first, from the partial index login_requests_pending_expiry.
  const expire = db.query<RequestRow, [number, number]>(
    `UPDATE login_requests SET status = 'EXPIRED' WHERE id IN
       (SELECT id FROM login_requests WHERE status = 'PENDING' AND expires_at <= ? ORDER BY expires_at LIMIT ?)
     RETURNING *`,
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
  // The purge's statements, each a bounded batch whose keys come from an index walk (lapsed events on
  // login_outcomes_expires_at, lapsed passports on login_requests_passport_expiry, old requests on
  // login_requests_created_at with no event left, probed on login_outcomes_request); the change itself
  // is then a primary-key lookup. Proven by test/server/stores/query-plans.test.ts.
  const dropOutcomes = db.query<never, [number, number]>(
    `DELETE FROM login_outcomes WHERE id IN
       (SELECT id FROM login_outcomes WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  );
  const dropPassports = db.query<never, [number, number]>(
    `UPDATE login_requests SET passport_jwt = NULL WHERE id IN
       (SELECT id FROM login_requests WHERE passport_jwt IS NOT NULL AND passport_expires_at <= ?
        ORDER BY passport_expires_at LIMIT ?)`,
  );
  // The batch is the oldest requests past the cut-off, of which those with no event left go: a request
  // still named by an event (its events lapse before it passes the cut-off, so hardly ever) is looked at
  // again next tick, but never makes one statement walk more than a batch.
  const dropRequests = db.query<never, [number, number]>(
    `DELETE FROM login_requests WHERE id IN
       (SELECT id FROM login_requests WHERE created_at < ? ORDER BY created_at LIMIT ?)
     AND NOT EXISTS (SELECT 1 FROM login_outcomes o WHERE o.login_request_id = login_requests.id)`,
  );

  // The outcome of a request's change, appended; built from the request row the change returned (as the
  // PostgreSQL store does) rather than read back with a join.
  const outcomeOf = (row: RequestRow, type: "approved" | "expired", now: number, expiresAt: number) => {
    const { id } = appendOutcome.get(row.site_id, row.id, type, now, expiresAt)!;
    return toOutcome({
      id,
      site_id: row.site_id,
      login_request_id: row.id,
      type,
      created_at: now,
      expires_at: expiresAt,
      delivered_at: null,
      passport_jwt: row.passport_jwt,
      redirect_url: row.redirect_url,
    });
  };
  // The audit rows recording a change go in its transaction: they commit with it or not at all, and
  // the flow pays one commit instead of one per row (docs/decisions/server-cpu-profile.md).
  const appendAudit = prepareAuditInsert(db);
  const createTx = db.transaction((r: LoginRequestRecord, audit: readonly AuditEventRecord[]) => {
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
    for (const event of audit) appendAudit(event);
  });
  const approveTx = db.transaction(
    (
      id: string,
      agentId: string,
      passportJwt: string,
      passportExpiresAt: number,
      now: number,
      audit: readonly AuditEventRecord[],
    ) => {
      const row = approve.get(agentId, now, passportJwt, passportExpiresAt, id, now);
      if (!row) return null;
      const event = outcomeOf(row, "approved", now, passportExpiresAt);
      for (const entry of audit) appendAudit(entry);
      return { request: toRequest(row), event };
    },
  );
  const expireTx = db.transaction((now: number, eventExpiresAt: number) => {
    const events: OutcomeEvent[] = [];
    // RETURNING follows no particular order: the events' ids follow the expiry order, as before.
    const rows = expire
      .all(now, PURGE_BATCH)
      .sort(
        (a, b) => millis(a.expires_at) - millis(b.expires_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
    for (const row of rows) events.push(outcomeOf(row, "expired", now, eventExpiresAt));
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

  return {
    async create(r, audit = []) {
      createTx.immediate(r, audit);
    },
    async findById(id) {
      const row = byId.get(id);
      return row ? toRequest(row) : null;
    },
    async showChallenge(id, difficulty, now) {
      const row = showChallenge.get(difficulty, now, id);
      return row ? toRequest(row) : null;
    },
    async approve({ id, agentId, passportJwt, passportExpiresAt, now, audit = [] }) {
      return approveTx.immediate(id, agentId, passportJwt, passportExpiresAt, now, audit);
    },
    async expireDue(now, eventExpiresAt) {
      // A batch per transaction, at most PURGE_BATCHES_PER_TICK of them; a larger backlog waits for the next call.
      const events: OutcomeEvent[] = [];
      await inBatches(() => {
        const batch = expireTx.immediate(now, eventExpiresAt);
        events.push(...batch);
        return batch.length;
      });
      return events;
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
      // Each batch commits on its own (autocommit), so the write lock is never held for more than one.
      // Events go first, so a request whose events lapsed goes in the same purge.
      await inBatches(() => dropOutcomes.run(now, PURGE_BATCH).changes);
      await inBatches(() => dropPassports.run(now, PURGE_BATCH).changes);
      await inBatches(() => dropRequests.run(requestsBefore, PURGE_BATCH).changes);
    },
  };
}
