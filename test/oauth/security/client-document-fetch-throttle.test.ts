/**
 * Regression: unthrottled Client ID Metadata Document fetches.
 *
 * A URL `client_id` makes the server fetch that URL. The authorization
 * endpoint counts requests per client address, but the token and
 * revocation endpoints looked the client up (and fetched its document)
 * before any limit: the token limit is keyed by the client id, which a
 * caller varies freely, and revocation had none. Anyone could have the
 * server open an outbound TLS connection to a host and port of their
 * choice on every request. Requests naming a URL client id are now counted
 * per address before the lookup.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CimdHost, startCimdHost } from "../cimd-host.ts";
import { call, OAUTH, type OAuthTestServer, startOAuthServer, tokenRequest } from "../helpers.ts";

const PER_MINUTE = 3;

describe("metadata document fetches from the token and revocation endpoints", () => {
  let host: CimdHost;
  let t: OAuthTestServer;

  beforeAll(async () => {
    host = startCimdHost();
    t = await startOAuthServer({
      oauth: {
        authorizeRequestsPerMinute: PER_MINUTE,
        // Generous: every fetch must reach the host to be counted, however busy the machine.
        cimd: { allowLoopback: true, caFile: host.caFile, timeoutMs: 5000 },
      },
    });
  });
  afterAll(async () => {
    await t.stop();
    await host.stop();
  });

  const fetches = () => [...host.hits.values()].reduce((sum, n) => sum + n, 0);

  test("a fresh client id URL per request is fetched at most the per-address budget a minute", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_MINUTE + 3; i++) {
      const answer = await tokenRequest(t.url, {
        grant_type: "refresh_token",
        refresh_token: "lime_rt_x",
        client_id: `${host.origin}/token-${i}.json`,
      });
      statuses.push(answer.status);
    }
    const revoke = await call(t.url, `${OAUTH}/revoke`, {
      form: { token: "x", client_id: `${host.origin}/revoke.json` },
    });
    statuses.push(revoke.status);

    expect(fetches()).toBe(PER_MINUTE);
    expect(statuses.slice(PER_MINUTE)).toEqual([429, 429, 429, 429]);
    expect(revoke.body.error).toBe("temporarily_unavailable");
  });
});
