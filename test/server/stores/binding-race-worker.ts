/**
 * One "instance" racing for binding decisions: its own connection to the
 * shared database file, completing (even workers) or declining (odd ones)
 * every binding request it is given as fast as it can.
 * Used by bindings-shared-database.test.ts.
 */

import { createSqliteBindingStore } from "../../../server/infrastructure/sqlite/bindings-store.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";

declare const self: Worker;

self.onmessage = async (
  message: MessageEvent<{
    path: string;
    ids: string[];
    agentId: string;
    ownerId: string;
    now: number;
    worker: number;
  }>,
) => {
  const { path, ids, agentId, ownerId, now, worker } = message.data;
  const db = openDatabase(path);
  const store = createSqliteBindingStore(db);
  const won: string[] = [];
  for (const id of ids) {
    const result =
      worker % 2 === 0
        ? await store.complete({ id, agentId, ownerId, now })
        : await store.deny({ id, ownerId: null, now });
    if (result) won.push(id);
  }
  db.close();
  self.postMessage(won);
};
