/**
 * Regression: a token with a character a header cannot carry (an inner
 * line break from a secrets file, a NUL) reached fetch, and Node's and
 * Deno's fetch quote the offending header value in their TypeError: the
 * token ended up in the `cause` of the SDK's SDK_NETWORK_ERROR, which
 * sites log (Node prints causes), and the call was retried three times.
 * Tokens are now checked at construction, and the TypeError names the
 * option, never the value.
 */
import { describe, expect, test } from "bun:test";
import type { FetchLike } from "@lime-ts/sdk";
import { AgentClient, SiteClient } from "@lime-ts/sdk";

const SECRET = "lime_agent_s3cr3t-value";

/** Node's undici: `Headers.append: "<value>" is an invalid header value.` */
const nodeLikeFetch: FetchLike = async (_input, init) => {
  for (const value of Object.values((init?.headers ?? {}) as Record<string, string>)) {
    if (/[\0\r\n]/.test(value)) throw new TypeError(`Headers.append: "${value}" is an invalid header value.`);
  }
  return Response.json({ ok: true, data: {} });
};

/** The message of an error and of every cause under it. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" | ");
}

async function firstError(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("a token a header cannot carry never reaches fetch", () => {
  for (const bad of [`${SECRET}\nsecond-line`, `${SECRET}\u0000`, `${SECRET} with space`]) {
    test(`agent token ${JSON.stringify(bad.slice(SECRET.length))}`, async () => {
      const error = await firstError(async () => {
        const agent = new AgentClient({
          baseUrl: "https://lime.test",
          agentToken: bad,
          fetch: nodeLikeFetch,
        });
        await agent.profile();
      });
      expect(error).toBeInstanceOf(TypeError);
      expect(errorText(error)).toContain("agentToken");
      expect(errorText(error)).not.toContain("s3cr3t");
    });
  }

  test("site token", async () => {
    const error = await firstError(async () => {
      const site = new SiteClient({
        baseUrl: "https://lime.test",
        siteToken: "lime_site_s3cr3t\r\nx",
        siteId: "s",
        fetch: nodeLikeFetch,
      });
      await site.getLoginRequest("r1");
    });
    expect(error).toBeInstanceOf(TypeError);
    expect(errorText(error)).not.toContain("s3cr3t");
  });
});
