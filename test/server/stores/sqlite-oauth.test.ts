/** The OAuth stores' conformance suite (oauth-conformance.ts) on SQLite in memory. */

import { agent } from "./conformance.ts";
import { type OAuthFixture, oauthStoreConformance } from "./oauth-conformance.ts";
import { sqliteFactory } from "./sqlite-fixture.ts";

oauthStoreConformance("sqlite", async (): Promise<OAuthFixture> => {
  const fixture = await sqliteFactory((stores) => stores.oauth)();
  return {
    ...fixture,
    async addAgent(ownerId) {
      const record = agent(ownerId);
      await fixture.stores.agents.create(record);
      return record.id;
    },
  };
});
