/**
 * A revoked agent key reaching a site by its event stream (`revoked`, kind
 * `agent_key`), live: the site's held login passport bound to the key is
 * refused PASSPORT_REVOKED, and so is a signed request to a guard the site
 * feeds the same events, with the list's poll interval at an hour so only
 * the stream can teach them.
 */
import { expect, test } from "bun:test";
import { createPassportGuard, type RevocationEntry, SiteClient } from "@lime-ts/sdk";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { serverForFile } from "../helpers/server-for-file.ts";
import { siteClientsClosedAfterEach } from "../helpers/site-clients.ts";
import { until } from "../helpers/until.ts";
import { agentWithKey, capturedRequest, outcome, SITE, siteCapture } from "./helpers.ts";

const lime = serverForFile();
const closedAfterTest = siteClientsClosedAfterEach();
const HOUR = 3_600_000;

test(
  "revokeKey: the revoked event refuses the bound login passport and the guard's signed request (PASSPORT_REVOKED)",
  async () => {
    const capture = siteCapture();
    const { agent, key } = await agentWithKey(lime.server, lime.ids, { fetch: capture.fetch });
    const site = closedAfterTest(
      new SiteClient({
        baseUrl: lime.server.url,
        siteToken: lime.ids.siteToken,
        revocation: { pollIntervalMs: HOUR },
      }),
    );
    const guard = createPassportGuard({
      issuer: lime.server.url,
      audience: SITE,
      revocation: { pollIntervalMs: HOUR },
    });
    const heard: RevocationEntry[] = [];
    site.onRevoked((entry) => {
      heard.push(entry);
      guard.verifier.revocations?.learn(entry);
    });

    const { requestId } = await site.createLoginRequest();
    const signedIn = site.waitForLogin(requestId, { timeout: 20_000 });
    await agent.login(requestId);
    expect((await signedIn).boundKeyThumbprint).toBe(key.kid);
    const { passportJwt } = await site.getLoginRequest(requestId);
    expect(await outcome(async () => guard(await capturedRequest(capture, agent)))).toBe("accepted");
    const pending = await capturedRequest(capture, agent);

    await agent.revokeKey(key.kid);
    await until(() => heard.length > 0);
    expect(heard[0]).toEqual({
      kind: "agent_key",
      agentId: lime.ids.agentId,
      jkt: key.kid,
      at: expect.any(Number),
    });
    expect(await outcome(() => site.verifyPassport(passportJwt!, { requestId }))).toBe("PASSPORT_REVOKED");
    expect(await outcome(() => guard(pending))).toBe("PASSPORT_REVOKED");
    // From the stream alone: each verifier fetched the list once, before the revocation.
    expect(guard.verifier.revocations!.stats.requests).toBe(1);
  },
  SLOW_TEST_TIMEOUT_MS,
);
