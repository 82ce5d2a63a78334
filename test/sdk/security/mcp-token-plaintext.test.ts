/**
 * Regression: `mcpFetch` (and so `connectMcp` / `callMcpTool`) attached the
 * agent's MCP access token to a plain `http:` MCP server anywhere on the
 * network, where anyone on the path reads it and can replay it to that
 * server (and to its `https:` twin: both are the same token domain) until
 * it expires. `AgentClient.fetch` already refused that for passports; the
 * MCP helper now refuses it too, loopback excepted.
 */
import { expect, test } from "bun:test";
import { AgentClient } from "@lime-ts/sdk";
import { mcpFetch } from "@lime-ts/sdk/mcp";

function agentWithTokens(issued: string[]) {
  return new AgentClient({
    baseUrl: "https://lime.test",
    agentToken: "lime_agent_test",
    fetch: async () => {
      issued.push(`at-${issued.length + 1}`);
      return Response.json({ access_token: issued.at(-1), token_type: "Bearer", expires_in: 300 });
    },
  });
}

test("no MCP access token is sent over plain http to a non-loopback MCP server", async () => {
  const issued: string[] = [];
  const sent: (string | null)[] = [];
  const base = async (input: string | URL | Request, init?: RequestInit) => {
    sent.push(new Request(input, init).headers.get("authorization"));
    return new Response("ok");
  };
  const attempt = async () => {
    const f = mcpFetch(agentWithTokens(issued), "http://tools.example/mcp", base);
    await f("http://tools.example/mcp", { method: "POST", body: "{}" });
  };
  await expect(attempt()).rejects.toBeInstanceOf(TypeError);
  expect(sent.filter((header) => header !== null)).toEqual([]);
  expect(issued).toEqual([]);
});

test("https and loopback MCP servers still get the token", async () => {
  const issued: string[] = [];
  const sent: (string | null)[] = [];
  const base = async (input: string | URL | Request, init?: RequestInit) => {
    sent.push(new Request(input, init).headers.get("authorization"));
    return new Response("ok");
  };
  const agent = agentWithTokens(issued);
  await mcpFetch(agent, "https://tools.example/mcp", base)("https://tools.example/mcp", { method: "POST" });
  await mcpFetch(agent, "http://127.0.0.1:8080/mcp", base)("http://127.0.0.1:8080/mcp", { method: "POST" });
  expect(sent).toEqual(["Bearer at-1", "Bearer at-2"]);
});
