import type { ReputationStore } from "../../core/agents/reputation.ts";
import { type AgentRow, toAgent } from "../sql-rows/agents.ts";
import { type BigintColumn, millis } from "../sql-rows/millis.ts";
import type { Sql } from "./connection.ts";

/**
 * The reputation counters on the agents row. Every write is one short
 * transaction on the primary key or the partial index
 * `agents_reputation_due`; none aggregates over history. Read-then-write
 * steps lock the rows they read (NO KEY UPDATE: foreign-key checks of other
 * writes are not blocked), so instances sharing the database take turns.
 */
export function createPostgresReputationStore(sql: Sql): ReputationStore {
  return {
    async recordLogin(agentId, siteId, at) {
      // One statement: the site counts as new only if this insert added it, so two
      // logins racing to the same new site count it once (the second waits on the key).
      await sql`
        WITH added AS (
          INSERT INTO agent_sites (agent_id, site_id, first_login_at) VALUES (${agentId}, ${siteId}, ${at})
          ON CONFLICT (agent_id, site_id) DO NOTHING RETURNING 1
        )
        UPDATE agents SET successful_logins = successful_logins + 1,
          distinct_sites = distinct_sites + (SELECT count(*) FROM added)::integer, reputation_due_at = 0
        WHERE id = ${agentId}`;
    },
    async recordRejection(agentId, at, next) {
      await sql.begin(async (tx) => {
        const [row]: { recent_rejections: number; rejections_counted_at: BigintColumn }[] = await tx`
          SELECT recent_rejections, rejections_counted_at FROM agents WHERE id = ${agentId} FOR NO KEY UPDATE`;
        if (!row) return;
        const count = next(row.recent_rejections, millis(row.rejections_counted_at));
        await tx`UPDATE agents SET recent_rejections = ${count}, rejections_counted_at = ${at}, reputation_due_at = 0
                 WHERE id = ${agentId}`;
      });
    },
    async refreshDue(now, limit, score) {
      // Read and write in one transaction with the rows locked, so an event landing
      // meanwhile waits and then marks the agent due again rather than being overwritten.
      // SKIP LOCKED: two sweeps at once take different agents (and cannot deadlock);
      // an agent skipped because an event holds it stays due for the next sweep.
      return sql.begin(async (tx) => {
        const rows: AgentRow[] = await tx`
          SELECT * FROM agents WHERE status = 'ACTIVE' AND reputation_due_at <= ${now}
          ORDER BY reputation_due_at LIMIT ${limit} FOR NO KEY UPDATE SKIP LOCKED`;
        if (rows.length === 0) return 0;
        const ids: string[] = [];
        const scores: number[] = [];
        const dues: number[] = [];
        for (const row of rows) {
          const { reputation, dueAt } = score(toAgent(row));
          ids.push(row.id);
          scores.push(reputation);
          dues.push(dueAt);
        }
        // One statement for the whole batch instead of a round trip per agent.
        await tx`
          UPDATE agents AS a SET reputation = s.reputation, reputation_computed_at = ${now},
            reputation_due_at = s.due_at
          FROM unnest(${ids}::text[], ${scores}::double precision[], ${dues}::bigint[]) AS s(id, reputation, due_at)
          WHERE a.id = s.id`;
        return rows.length;
      });
    },
  };
}
