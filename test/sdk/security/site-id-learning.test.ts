/**
 * Regression: a SiteClient without `siteId` learned its site id from the
 * public view of whatever request id it was first asked about. An attacker
 * who owns another site could name one of its own pending requests in a
 * `verifyPassport` call, so the victim client adopted the attacker's site
 * id for good; from then on it accepted login passports the attacker's site
 * had received (other agents logging into it), replayed as logins to the
 * victim. The id is now learned only from a request the site token proves
 * is this site's.
 */
import { expect, test } from "bun:test";
import { AgentClient, SiteClient } from "@lime-ts/sdk";
import { serverForFile } from "../helpers/server-for-file.ts";

const lime = serverForFile();

test("a site that never learned its id does not adopt another site's id from a request id it is handed", async () => {
  const attacker = await lime.server.provision();
  const attackerSite = new SiteClient({
    baseUrl: lime.server.url,
    siteToken: attacker.siteToken,
    siteId: attacker.siteId,
  });
  // An honest agent logs into the attacker's site; the attacker keeps the passport.
  const honestAgent = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
  const stolen = await attackerSite.createLoginRequest();
  await honestAgent.login(stolen.requestId);
  const stolenPassport = await attackerSite.getLoginRequest(stolen.requestId);
  expect(stolenPassport.passportJwt).not.toBeNull();
  // A pending request of the attacker's site, to steer the victim's learning.
  const bait = await attackerSite.createLoginRequest();

  const victim = new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken });
  try {
    await victim.verifyPassport("not-a-passport", { requestId: bait.requestId }).catch(() => {});
    const replay = await victim
      .verifyPassport(stolenPassport.passportJwt!, { requestId: stolen.requestId })
      .then(
        (passport) => passport,
        (error: unknown) => error,
      );
    expect(replay).toBeInstanceOf(Error);
    await expect(victim.siteId(bait.requestId)).rejects.toBeInstanceOf(TypeError);

    // Its own pending request still teaches it its id.
    const own = await new SiteClient({
      baseUrl: lime.server.url,
      siteToken: lime.ids.siteToken,
      siteId: lime.ids.siteId,
    }).createLoginRequest();
    expect(await victim.siteId(own.requestId)).toBe(lime.ids.siteId);
  } finally {
    await victim.close();
    await attackerSite.close();
  }
});
