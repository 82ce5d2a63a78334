/** The OAuth stores' conformance suite (oauth-conformance.ts) on SQLite in memory. */

import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores } from "../../../server/infrastructure/sqlite/stores.ts";
import { agent, site, user } from "./conformance.ts";
import { type OAuthFixture, oauthStoreConformance } from "./oauth-conformance.ts";

oauthStoreConformance("sqlite", async (): Promise<OAuthFixture> => {
  const db = openDatabase(":memory:");
  const stores = createSqliteStores(db);
  const addOwner = async () => {
    const owner = user();
    await stores.users.create(owner);
    return owner.id;
  };
  return {
    store: stores.oauth,
    addOwner,
    async addSite(ownerId) {
      const record = site(ownerId ?? (await addOwner()));
      await stores.sites.create(record);
      return record.id;
    },
    async addAgent(ownerId) {
      const record = agent(ownerId);
      await stores.agents.create(record);
      return record.id;
    },
    async close() {
      db.close();
    },
  };
});
