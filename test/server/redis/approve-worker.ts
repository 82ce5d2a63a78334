/**
 * One "instance" racing for approvals: its own connection to the shared
 * database file, approving every request it is given as fast as it can.
 * Used by shared-database.test.ts.
 */

import { createSqliteAgentLoginStore } from "../../../server/infrastructure/sqlite/agent-login-store.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";

declare const self: Worker;

self.onmessage = async (
  message: MessageEvent<{ path: string; ids: string[]; now: number; worker: number }>,
) => {
  const { path, ids, now, worker } = message.data;
  const db = openDatabase(path);
  const store = createSqliteAgentLoginStore(db);
  const won: string[] = [];
  for (const id of ids) {
    const result = await store.approve({
      id,
      agentId: crypto.randomUUID(),
      passportJwt: `jwt-${worker}-${id}`,
      passportExpiresAt: now + 60_000,
      now,
    });
    if (result) won.push(id);
  }
  db.close();
  self.postMessage(won);
};
