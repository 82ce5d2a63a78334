/**
 * Regression: `AgentClient.fetch` asks for a passport whose audience is the
 * target's origin, but took whatever passport came back. A server that
 * ignores the `audience` field (and issues the shared default
 * "lime-passport") handed out passports every site accepting the shared
 * audience takes: the site the agent called could replay it to any other.
 * A passport whose `aud` is not exactly the audience asked for is refused
 * before it is sent anywhere.
 */
import { expect, test } from "bun:test";
import { AgentClient, LimeSdkError } from "@lime-ts/sdk";
import { createTestIssuer, sign } from "../helpers/issuer.ts";

async function agentOfIssuerThatIssues(aud: string | string[]) {
  const issuer = await createTestIssuer();
  const presented: (string | null)[] = [];
  const agent = new AgentClient({
    baseUrl: "https://lime.test",
    agentToken: "lime_agent_test",
    fetch: async (input, init) => {
      const request = new Request(input, init);
      if (request.url.startsWith("https://lime.test/")) {
        const passport = await sign(issuer.keys[0]!, { aud });
        return Response.json({ ok: true, data: { passport, expires_at: "2099-01-01T00:00:00Z" } });
      }
      presented.push(request.headers.get("authorization"));
      return new Response("ok");
    },
  });
  return { agent, presented };
}

for (const aud of ["lime-passport", ["https://shop.test", "lime-passport"], "https://other.test"]) {
  test(`a passport issued for ${JSON.stringify(aud)} is never presented to https://shop.test`, async () => {
    const { agent, presented } = await agentOfIssuerThatIssues(aud);
    const error = await agent.fetch("https://shop.test/orders").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimeSdkError);
    expect((error as LimeSdkError).code).toBe("SDK_INVALID_RESPONSE");
    expect(presented).toEqual([]);
  });
}

test("a passport for exactly the target's origin is presented", async () => {
  const { agent, presented } = await agentOfIssuerThatIssues("https://shop.test");
  expect((await agent.fetch("https://shop.test/orders")).status).toBe(200);
  expect(presented).toHaveLength(1);
  expect(presented[0]).toStartWith("AgentPassport ");
});
