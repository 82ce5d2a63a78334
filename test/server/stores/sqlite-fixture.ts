/**
 * A fresh in-memory SQLite database per test, as the conformance suites'
 * factory for the SQLite stores; `stores` lets a suite's fixture add the
 * parent rows it needs (an agent, say).
 */

import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores, type Stores } from "../../../server/infrastructure/sqlite/stores.ts";
import { type Fixture, site, user } from "./conformance.ts";

export function sqliteFactory<S>(
  pick: (stores: Stores) => S,
): () => Promise<Fixture<S> & { stores: Stores }> {
  return async () => {
    const db = openDatabase(":memory:");
    const stores = createSqliteStores(db);
    const addOwner = async () => {
      const owner = user();
      await stores.users.create(owner);
      return owner.id;
    };
    return {
      store: pick(stores),
      stores,
      addOwner,
      async addSite(ownerId) {
        const record = site(ownerId ?? (await addOwner()));
        await stores.sites.create(record);
        return record.id;
      },
      async close() {
        db.close();
      },
    };
  };
}
