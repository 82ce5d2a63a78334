/**
 * Regression: API answers were read with `response.text()` and the JWKS
 * was measured only after the whole body had been buffered, so a hostile
 * or broken server (or anything on the path) could make a client or a site
 * hold any amount of memory within one timeout. Bodies are now read with a
 * byte ceiling (1 MiB for API answers, 512 KiB for a JWKS) and the rest is
 * cancelled unread.
 */
import { describe, expect, test } from "bun:test";
import { AgentClient, LimeSdkError, PassportVerifier } from "@lime-ts/sdk";

const CHUNK = 64 * 1024;
const TOTAL = 16 * 1024 * 1024;

/** A JSON body of `prefix`, then `TOTAL` bytes of "a", then `suffix`, counting what the client pulled. */
function hugeJson(prefix: string, suffix: string, headers: Record<string, string> = {}) {
  const encoder = new TextEncoder();
  const filler = encoder.encode("a".repeat(CHUNK));
  let sent = 0;
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = sent === 0 ? encoder.encode(prefix) : sent < TOTAL ? filler : undefined;
      if (next === undefined) {
        controller.enqueue(encoder.encode(suffix));
        controller.close();
        return;
      }
      sent += next === filler ? next.byteLength : 1;
      pulled += next.byteLength;
      controller.enqueue(next);
    },
  });
  return {
    response: () =>
      new Response(body, { status: 200, headers: { "content-type": "application/json", ...headers } }),
    pulled: () => pulled,
  };
}

describe("response bodies are read with a ceiling", () => {
  test("an API answer larger than 1 MiB is refused without buffering it", async () => {
    const huge = hugeJson(
      '{"ok":true,"data":{"agent_id":"',
      '","owner_id":"o","display_name":"d","owner_kyc_level":1,"agent_reputation":0}}',
    );
    const agent = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: "lime_agent_test",
      fetch: async () => huge.response(),
    });
    const error = await agent.profile().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimeSdkError);
    expect((error as LimeSdkError).code).toBe("SDK_INVALID_RESPONSE");
    expect(huge.pulled()).toBeLessThan(2 * 1024 * 1024);
  });

  test("a declared Content-Length over the ceiling is refused before reading", async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls++;
          const profile = {
            agent_id: "a",
            owner_id: "o",
            display_name: "d",
            owner_kyc_level: 1,
            agent_reputation: 0,
          };
          controller.enqueue(new TextEncoder().encode(JSON.stringify({ ok: true, data: profile })));
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const agent = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: "lime_agent_test",
      fetch: async () => new Response(body, { status: 200, headers: { "content-length": String(2 ** 31) } }),
    });
    const error = await agent.profile().catch((e: unknown) => e);
    expect((error as LimeSdkError).code).toBe("SDK_INVALID_RESPONSE");
    expect(pulls).toBe(0);
  });

  test("a JWKS over 512 KiB is refused without buffering it", async () => {
    const huge = hugeJson('{"keys":[],"padding":"', '"}');
    const verifier = new PassportVerifier({
      issuer: "https://issuer.test",
      audience: "https://shop.test",
      fetch: async () => huge.response(),
    });
    const error = await verifier.jwks.refresh().catch((e: unknown) => e);
    expect((error as LimeSdkError).code).toBe("SDK_INVALID_RESPONSE");
    expect(huge.pulled()).toBeLessThan(1024 * 1024);
  });
});
