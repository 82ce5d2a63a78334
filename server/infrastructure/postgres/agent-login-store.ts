/**
 * The headless agent login's requests and outcome events on PostgreSQL,
 * behaving as the SQLite store does (sqlite/agent-login-store.ts).
 *
 * Single use: approval is one conditional `UPDATE … WHERE status = 'PENDING'
 * AND expires_at > now RETURNING`. Under READ COMMITTED a concurrent
 * approval blocks on the row lock, then re-evaluates the WHERE on the
 * committed row (now APPROVED) and matches nothing: one winner, whichever
 * connection or instance the others came from.
 *
 * Ordering of outcome ids: an id is an SSE event id, and a site that
 * reconnects with `Last-Event-ID: N` is sent `eventsAfter(site, N)`. An
 * IDENTITY value is drawn when the row is inserted but becomes visible at
 * commit, so with two concurrent transactions id 7 can commit before id 6; a
 * stream that saw 7 and reconnects after it would never see 6. Hence every
 * transaction that inserts outcomes first takes a transaction-scoped advisory
 * lock per affected site and only then inserts: the id is drawn under the
 * lock, and the lock is released only after the commit has become visible
 * (PostgreSQL ends a transaction's visibility before releasing its locks).
 * The next transaction for that site draws its id after that, so one site's
 * ids become visible in increasing order. Sites never share an id stream, so
 * different sites do not wait for each other (barring a hash collision, which
 * only serialises them).
 *
 * Lock order, so nothing deadlocks: row locks on login_requests first (the
 * approving UPDATE; expireDue's `FOR UPDATE` in (expires_at, id) order), then the advisory
 * locks (several in ascending key order); a transaction holding an advisory
 * lock waits for nothing else but other advisory locks taken in that order.
 */

import type { AgentLoginStore, OutcomeEvent } from "../../modules/agent-login/store.ts";
import { type OutcomeRow, type RequestRow, toOutcome, toRequest } from "../sql-rows/agent-login.ts";
import { millis } from "../sql-rows/millis.ts";
import { insertAuditEvent } from "./audit-store.ts";
import type { Sql } from "./connection.ts";
import { deleteLapsed, inBatches, PURGE_BATCH } from "./purge.ts";

/** The advisory-lock namespace of outcome ids ("LOUT"); the second key is `hashtext(site_id)`. */
const OUTCOME_LOCK_NAMESPACE = 0x4c4f5554;

export function createPostgresAgentLoginStore(sql: Sql): AgentLoginStore {
  async function expireBatch(now: number, eventExpiresAt: number): Promise<OutcomeEvent[]> {
    return sql.begin(async (tx) => {
      // One batch of the oldest due requests (the partial index login_requests_pending_expiry), locked
      // in (expires_at, id) order, so two sweeps never deadlock; one that waited re-checks the status
      // and skips what the other (or an approval) took.
      const rows: RequestRow[] = await tx`
        WITH due AS (
          SELECT id FROM login_requests WHERE status = 'PENDING' AND expires_at <= ${now}
          ORDER BY expires_at, id LIMIT ${PURGE_BATCH} FOR UPDATE
        )
        UPDATE login_requests r SET status = 'EXPIRED' FROM due
        WHERE r.id = due.id AND r.status = 'PENDING'
        RETURNING r.*`;
      if (rows.length === 0) return [];
      // Every affected site's lock, in ascending key order, before any id is drawn.
      const siteIds = [...new Set(rows.map((row) => row.site_id))];
      await tx`
        SELECT pg_advisory_xact_lock(${OUTCOME_LOCK_NAMESPACE}::int4, k)
        FROM (SELECT DISTINCT hashtext(s) AS k FROM unnest(${siteIds}::text[]) AS s ORDER BY k) AS keys`;
      // One insert for all of them, oldest expiry first (the order the SQLite sweep walks its expiry
      // index), so the ids drawn follow that order.
      const ordered = rows
        .sort((a, b) => millis(a.expires_at) - millis(b.expires_at) || compareBytes(a.id, b.id))
        .map((row) => row.id);
      const inserted: Array<{ id: string; login_request_id: string }> = await tx`
        INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at, delivered_at)
        SELECT r.site_id, r.id, 'expired', ${now}, ${eventExpiresAt}, NULL
        FROM unnest(${ordered}::text[]) WITH ORDINALITY AS due(id, n) JOIN login_requests r ON r.id = due.id
        ORDER BY due.n
        RETURNING id, login_request_id`;
      const byId = new Map(rows.map((row) => [row.id, row]));
      const events = inserted.map(({ id, login_request_id }) => {
        const row = byId.get(login_request_id)!;
        return toOutcome({
          id,
          site_id: row.site_id,
          login_request_id,
          type: "expired",
          created_at: now,
          expires_at: eventExpiresAt,
          delivered_at: null,
          passport_jwt: row.passport_jwt,
          redirect_url: row.redirect_url,
        });
      });
      return events.sort((a, b) => a.id - b.id);
    });
  }

  return {
    async create(r, audit = []) {
      const insert = (tx: Sql) => tx`
        INSERT INTO login_requests (id, site_id, status, pow_challenge, pow_difficulty, redirect_url,
          created_at, expires_at, approved_agent_id, approved_at, passport_jwt, passport_expires_at,
          delivered_at, challenge_shown_at)
        VALUES (${r.id}, ${r.siteId}, ${r.status}, ${r.powChallenge}, ${r.powDifficulty}, ${r.redirectUrl},
          ${r.createdAt}, ${r.expiresAt}, ${r.approvedAgentId}, ${r.approvedAt}, ${r.passportJwt},
          ${r.passportExpiresAt}, ${r.deliveredAt}, ${r.challengeShownAt})`;
      if (audit.length === 0) {
        await insert(sql);
        return;
      }
      // The request and the audit rows recording it commit together (sqlite/agent-login-store.ts).
      await sql.begin(async (tx) => {
        await insert(tx);
        for (const event of audit) await insertAuditEvent(tx, event);
      });
    },

    async showChallenge(id, difficulty, now) {
      // The row lock serialises racing first fetches; the loser re-reads the committed row and matches nothing.
      const [row]: RequestRow[] = await sql`
        UPDATE login_requests SET pow_difficulty = GREATEST(pow_difficulty, ${difficulty}::integer),
          challenge_shown_at = ${now}
        WHERE id = ${id} AND status = 'PENDING' AND challenge_shown_at IS NULL
        RETURNING *`;
      return row ? toRequest(row) : null;
    },

    async findById(id) {
      const [row]: RequestRow[] = await sql`SELECT * FROM login_requests WHERE id = ${id}`;
      return row ? toRequest(row) : null;
    },

    async approve({ id, agentId, passportJwt, passportExpiresAt, now, audit = [] }) {
      return sql.begin(async (tx) => {
        const [row]: RequestRow[] = await tx`
          UPDATE login_requests
          SET status = 'APPROVED', approved_agent_id = ${agentId}, approved_at = ${now},
              passport_jwt = ${passportJwt}, passport_expires_at = ${passportExpiresAt}
          WHERE id = ${id} AND status = 'PENDING' AND expires_at > ${now}
          RETURNING *`;
        if (!row) return null;
        // Before the site's lock, which approvals of the site queue on: the rows take no lock anyone waits for.
        for (const entry of audit) await insertAuditEvent(tx, entry);
        // The id is drawn under the site's lock (see the header).
        await tx`SELECT pg_advisory_xact_lock(${OUTCOME_LOCK_NAMESPACE}::int4, hashtext(${row.site_id}::text))`;
        const [outcome]: Array<{ id: string }> = await tx`
          INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at, delivered_at)
          VALUES (${row.site_id}, ${row.id}, 'approved', ${now}, ${passportExpiresAt}, NULL)
          RETURNING id`;
        const event = toOutcome({
          id: outcome!.id,
          site_id: row.site_id,
          login_request_id: row.id,
          type: "approved",
          created_at: now,
          expires_at: passportExpiresAt,
          delivered_at: null,
          passport_jwt: row.passport_jwt,
          redirect_url: row.redirect_url,
        });
        return { request: toRequest(row), event };
      });
    },

    async expireDue(now, eventExpiresAt) {
      // A batch per transaction, at most PURGE_BATCHES_PER_TICK of them; a larger backlog waits for the next call.
      const events: OutcomeEvent[] = [];
      await inBatches(async () => {
        const batch = await expireBatch(now, eventExpiresAt);
        events.push(...batch);
        return batch.length;
      });
      return events.sort((a, b) => a.id - b.id);
    },

    async appendRevoked(siteIds, revocation, now, expiresAt) {
      const sites = [...new Set(siteIds)];
      if (sites.length === 0) return [];
      return sql.begin(async (tx) => {
        // Every site's lock, in ascending key order, before any id is drawn (see the header).
        await tx`
          SELECT pg_advisory_xact_lock(${OUTCOME_LOCK_NAMESPACE}::int4, k)
          FROM (SELECT DISTINCT hashtext(s) AS k FROM unnest(${sites}::text[]) AS s ORDER BY k) AS keys`;
        const json = JSON.stringify(revocation);
        const rows: OutcomeRow[] = await tx`
          INSERT INTO login_outcomes (site_id, login_request_id, type, created_at, expires_at, delivered_at, revocation)
          SELECT s.id, NULL, 'revoked', ${now}, ${expiresAt}, NULL, ${json}
          FROM unnest(${sites}::text[]) WITH ORDINALITY AS wanted(id, n) JOIN sites s ON s.id = wanted.id
          ORDER BY wanted.n
          RETURNING id, site_id, login_request_id, type, created_at, expires_at, delivered_at,
                    NULL::text AS passport_jwt, NULL::text AS redirect_url, revocation`;
        return rows.map(toOutcome).sort((a, b) => a.id - b.id);
      });
    },

    async markDelivered(eventId, now) {
      // One statement, so the event and its request change together.
      await sql`
        WITH event AS (
          UPDATE login_outcomes SET delivered_at = COALESCE(delivered_at, ${now}) WHERE id = ${eventId}
          RETURNING login_request_id
        )
        UPDATE login_requests SET status = 'DELIVERED', delivered_at = ${now}
        WHERE id IN (SELECT login_request_id FROM event) AND status = 'APPROVED'`;
    },

    async undeliveredEvents(siteId, now) {
      const rows: OutcomeRow[] = await sql`
        SELECT o.id, o.site_id, o.login_request_id, o.type, o.created_at, o.expires_at, o.delivered_at,
               r.passport_jwt, r.redirect_url, o.revocation
        FROM login_outcomes o LEFT JOIN login_requests r ON r.id = o.login_request_id
        WHERE o.site_id = ${siteId} AND o.delivered_at IS NULL AND o.expires_at > ${now}
        ORDER BY o.id`;
      return rows.map(toOutcome);
    },

    async eventsAfter(siteId, afterId, now) {
      const rows: OutcomeRow[] = await sql`
        SELECT o.id, o.site_id, o.login_request_id, o.type, o.created_at, o.expires_at, o.delivered_at,
               r.passport_jwt, r.redirect_url, o.revocation
        FROM login_outcomes o LEFT JOIN login_requests r ON r.id = o.login_request_id
        WHERE o.site_id = ${siteId} AND o.id > ${afterId} AND o.expires_at > ${now}
        ORDER BY o.id`;
      return rows.map(toOutcome);
    },

    // Ties on the time are broken by id in byte order (COLLATE "C"), as SQLite compares text,
    // whatever the database's locale.
    async recentForSite(siteId, limit) {
      const rows: RequestRow[] = await sql`
        SELECT * FROM login_requests WHERE site_id = ${siteId}
        ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT ${limit}`;
      return rows.map(toRequest);
    },

    async recentForAgent(agentId, limit) {
      const rows: RequestRow[] = await sql`
        SELECT * FROM login_requests WHERE approved_agent_id = ${agentId}
        ORDER BY approved_at DESC, id COLLATE "C" DESC LIMIT ${limit}`;
      return rows.map(toRequest);
    },

    async purge(now, requestsBefore) {
      // Bounded batches, each its own statement: the batch's keys come from an index walk (lapsed
      // events on login_outcomes_expires_at, lapsed passports on login_requests_passport_expiry, old
      // requests on login_requests_created_at, kept when login_outcomes_request finds an event),
      // and `= ANY(ARRAY(…))` makes the change itself a primary-key lookup rather than a join the
      // planner may turn into a scan of the table. Events go first, so a request whose events
      // lapsed goes in the same purge, as in SQLite.
      await deleteLapsed(sql, ["login_outcomes", "id"], now);
      await inBatches(async () => {
        const result = await sql`
          UPDATE login_requests SET passport_jwt = NULL
          WHERE id = ANY(ARRAY(SELECT id FROM login_requests
                               WHERE passport_jwt IS NOT NULL AND passport_expires_at <= ${now}
                               ORDER BY passport_expires_at LIMIT ${PURGE_BATCH}))
            AND passport_jwt IS NOT NULL`;
        return result.count;
      });
      // The batch is the oldest requests past the cut-off, of which those with no event left go (a request
      // still named by an event is looked at again next tick). The event check is a scalar subquery with a
      // LIMIT, which PostgreSQL runs per row on login_outcomes_request and never turns into a hash join
      // over the whole event table, whatever the statistics say.
      await inBatches(async () => {
        const result = await sql`
          DELETE FROM login_requests r
          WHERE r.id = ANY(ARRAY(SELECT id FROM login_requests WHERE created_at < ${requestsBefore}
                                 ORDER BY created_at LIMIT ${PURGE_BATCH}))
            AND (SELECT 1 FROM login_outcomes o WHERE o.login_request_id = r.id LIMIT 1) IS NULL`;
        return result.count;
      });
    },
  };
}

/** Byte order of two strings, as SQLite (and PostgreSQL's "C" collation) compares text. */
function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}
