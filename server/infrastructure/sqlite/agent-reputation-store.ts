import type { Database } from "bun:sqlite";
import type { ReputationStore } from "../../core/agents/reputation.ts";
import { type AgentRow, toAgent } from "../sql-rows/agents.ts";

/**
 * The reputation counters on the agents row. Every write is one short
 * transaction on the primary key or the partial index
 * `agents_reputation_due`; none aggregates over history.
 */
export function createSqliteReputationStore(db: Database): ReputationStore {
  const addSite = db.query<never, [string, string, number]>(
    "INSERT OR IGNORE INTO agent_sites (agent_id, site_id, first_login_at) VALUES (?, ?, ?)",
  );
  const countLogin = db.query<never, [number, string]>(
    `UPDATE agents SET successful_logins = successful_logins + 1, distinct_sites = distinct_sites + ?,
       reputation_due_at = 0 WHERE id = ?`,
  );
  const rejections = db.query<{ recent_rejections: number; rejections_counted_at: number }, [string]>(
    "SELECT recent_rejections, rejections_counted_at FROM agents WHERE id = ?",
  );
  const setRejections = db.query<never, [number, number, string]>(
    `UPDATE agents SET recent_rejections = ?, rejections_counted_at = ?, reputation_due_at = 0 WHERE id = ?`,
  );
  const due = db.query<AgentRow, [number, number]>(
    `SELECT * FROM agents WHERE status = 'ACTIVE' AND reputation_due_at <= ?
     ORDER BY reputation_due_at LIMIT ?`,
  );
  const setScore = db.query<never, [number, number, number, string]>(
    "UPDATE agents SET reputation = ?, reputation_computed_at = ?, reputation_due_at = ? WHERE id = ?",
  );

  return {
    async recordLogin(agentId, siteId, at) {
      db.transaction(() => {
        const newSite = addSite.run(agentId, siteId, at).changes;
        countLogin.run(newSite, agentId);
      }).immediate();
    },
    async recordRejection(agentId, at, next) {
      db.transaction(() => {
        const row = rejections.get(agentId);
        if (!row) return;
        setRejections.run(next(row.recent_rejections, row.rejections_counted_at), at, agentId);
      }).immediate();
    },
    async refreshDue(now, limit, score) {
      // Read and write in one transaction, so an event landing meanwhile keeps its "due" mark.
      return db
        .transaction(() => {
          const rows = due.all(now, limit);
          for (const row of rows) {
            const { reputation, dueAt } = score(toAgent(row));
            setScore.run(reputation, now, dueAt, row.id);
          }
          return rows.length;
        })
        .immediate();
    },
  };
}
