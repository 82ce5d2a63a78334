/**
 * The server's `{"type": "error", "code", "message"}` frame, as the site
 * SDK's login event consumer meets it on a real server: a revoked site
 * token stops the consumer with a coded error (no retry storm against a dead
 * credential); a shutdown is reported and the consumer reconnects.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { LimeApiError, SiteClient } from "@lime-ts/sdk";
import { type Provisioned, startTestServer, type TestServer } from "../../server/testing.ts";
import { until } from "./helpers/until.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(): Promise<{ t: TestServer; p: Provisioned; site: SiteClient; errors: Error[] }> {
  const t = await startTestServer();
  cleanups.push(() => t.stop());
  const p = await t.provision();
  const site = new SiteClient({ baseUrl: t.url, siteToken: p.siteToken });
  cleanups.push(() => site.close());
  const errors: Error[] = [];
  const subscription = site.onLogin(() => {}, { onError: (error) => errors.push(error) });
  cleanups.push(() => subscription.stop());
  await until(() => t.server.context.eventStreams.openCount() === 1);
  return { t, p, site, errors };
}

describe("the site SDK and the stream's error frame", () => {
  test("a rotated site token: SITE_TOKEN_INVALID from the frame stops the consumer", async () => {
    const { t, p, errors } = await started();
    const rotated = await fetch(`${t.url}/api/v1/foundation/sites/${p.siteId}/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${p.sessionToken}` },
    });
    expect(rotated.status).toBe(200);

    // The next keepalive re-checks the token and ends the stream with the frame.
    await until(() => errors.length > 0);
    expect(errors[0]).toBeInstanceOf(LimeApiError);
    expect(errors[0]).toMatchObject({
      code: "SITE_TOKEN_INVALID",
      status: 200,
      detail: { source: "event_stream" },
    });
    // The consumer stopped on the frame (a fatal code): no stream is open and nothing else was reported.
    expect(t.server.context.eventStreams.openCount()).toBe(0);
    expect(errors).toHaveLength(1);
  });

  test("a server shutdown frame is reported as SERVER_SHUTDOWN and the consumer reconnects", async () => {
    const { t, errors } = await started();
    t.server.context.eventStreams.closeAll();
    await until(() => errors.some((e) => e instanceof LimeApiError && e.code === "SERVER_SHUTDOWN"));
    await until(() => t.server.context.eventStreams.openCount() === 1);
  });
});
