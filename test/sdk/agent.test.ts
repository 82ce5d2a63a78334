/**
 * AgentClient behaviour that needs a scripted transport: MCP token caching
 * (the server side lands with issue 5), cache renewal timing, what is and is
 * not retried, and the env-var fallbacks. The end-to-end flows against the
 * real server are in e2e.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { AgentClient, LimeApiError, SiteClient } from "@lime-ts/sdk";
import { mcpDomain } from "../../sdk/agent/mcp-domain.ts";

interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body: unknown;
}

function transport(answer: (seen: Seen, index: number) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    const text = await request.text();
    const entry = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: text === "" ? undefined : JSON.parse(text),
    };
    seen.push(entry);
    return answer(entry, seen.length - 1);
  };
  return { fetch, seen };
}

function fakeJwt(lifetimeSec: number, iat = 1_800_000_000, aud?: string): string {
  const enc = (v: unknown) =>
    btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${enc({ alg: "RS256", kid: "k" })}.${enc({ iat, exp: iat + lifetimeSec, jti: crypto.randomUUID(), aud })}.c2ln`;
}

const tokenResponse = (token: string, expiresIn = 300) =>
  Response.json(
    { access_token: token, token_type: "Bearer", expires_in: expiresIn },
    { headers: { "cache-control": "no-store" } },
  );

describe("mcpAccessToken", () => {
  test("POSTs {domain} with X-Agent-Token and returns the RFC 6749 access_token", async () => {
    const t = transport(() => tokenResponse("at-1"));
    const agent = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: "lime_agent_x",
      fetch: t.fetch,
    });
    expect(await agent.mcpAccessToken("https://Tools.Example/mcp")).toBe("at-1");
    expect(t.seen[0]?.url).toBe("https://lime.test/api/v1/modules/oauth/token");
    expect(t.seen[0]?.method).toBe("POST");
    expect(t.seen[0]?.headers.get("x-agent-token")).toBe("lime_agent_x");
    expect(t.seen[0]?.body).toEqual({ domain: "tools.example" });
  });

  test("caches per domain and shares one request among concurrent callers (single flight)", async () => {
    let serial = 0;
    const t = transport(async (seen) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return tokenResponse(`at-${(seen.body as { domain: string }).domain}-${++serial}`);
    });
    const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
    const tokens = await Promise.all([
      agent.mcpAccessToken("a.example"),
      agent.mcpAccessToken("https://a.example/x"),
      agent.mcpAccessToken("A.EXAMPLE"),
      agent.mcpAccessToken("b.example"),
    ]);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[1]).toBe(tokens[2]);
    expect(tokens[3]).not.toBe(tokens[0]);
    expect(t.seen).toHaveLength(2);
    expect(await agent.mcpAccessToken("a.example")).toBe(tokens[0]!);
    expect(t.seen).toHaveLength(2);
  });

  test("refreshes lazily once within the skew of expiry, counted from arrival on the local clock", async () => {
    let now = 5_000_000;
    let serial = 0;
    const t = transport(() => tokenResponse(`at-${++serial}`, 300));
    const agent = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: "t",
      fetch: t.fetch,
      now: () => now,
      mcpTokenRenewSkewMs: 60_000,
    });
    expect(await agent.mcpAccessToken("a.example")).toBe("at-1");
    now += 239_999;
    expect(await agent.mcpAccessToken("a.example")).toBe("at-1");
    now += 1;
    expect(await agent.mcpAccessToken("a.example")).toBe("at-2");
    expect(t.seen).toHaveLength(2);
  });

  test("an RFC 6749 error keeps its code; a failure is not cached", async () => {
    const t = transport((_seen, index) =>
      index === 0
        ? Response.json({ error: "invalid_client", error_description: "unknown agent" }, { status: 401 })
        : tokenResponse("at-ok"),
    );
    const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
    const error = (await agent.mcpAccessToken("a.example").catch((e: unknown) => e)) as LimeApiError;
    expect(error).toBeInstanceOf(LimeApiError);
    expect(error.code).toBe("invalid_client");
    expect(error.status).toBe(401);
    expect(error.message).toBe("unknown agent");
    expect(await agent.mcpAccessToken("a.example")).toBe("at-ok");
  });

  test("the envelope error OAUTH_CAPABILITY_DENIED keeps its code too", async () => {
    const t = transport(() =>
      Response.json(
        { ok: false, error: { code: "OAUTH_CAPABILITY_DENIED", message: "no", detail: {} } },
        { status: 403 },
      ),
    );
    const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
    await expect(agent.mcpAccessToken("a.example")).rejects.toMatchObject({
      code: "OAUTH_CAPABILITY_DENIED",
      status: 403,
    });
  });

  test("a token response that is not Bearer or has no positive expires_in is SDK_INVALID_RESPONSE", async () => {
    for (const body of [
      { access_token: "x", token_type: "DPoP", expires_in: 300 },
      { access_token: "x", token_type: "Bearer", expires_in: 0 },
      { token_type: "Bearer", expires_in: 300 },
    ]) {
      const t = transport(() => Response.json(body));
      const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
      await expect(agent.mcpAccessToken("a.example")).rejects.toMatchObject({ code: "SDK_INVALID_RESPONSE" });
    }
  });

  test("mcpDomain normalises hosts and URLs and refuses the rest", () => {
    expect(mcpDomain("tools.example")).toBe("tools.example");
    expect(mcpDomain("tools.example:8443")).toBe("tools.example:8443");
    expect(mcpDomain(new URL("https://tools.example:443/mcp"))).toBe("tools.example");
    for (const bad of ["", "   ", "ftp://tools.example", "https://user:pw@tools.example", "http://"]) {
      expect(() => mcpDomain(bad)).toThrow(TypeError);
    }
  });
});

describe("passport cache", () => {
  test("renews before expiry; the lifetime comes from the token, timed on the local clock", async () => {
    let now = 1_000_000;
    let serial = 0;
    const t = transport(() => {
      serial++;
      return Response.json(
        {
          ok: true,
          data: {
            passport: fakeJwt(600, undefined, "https://shop.test"),
            expires_at: "2099-01-01T00:00:00Z",
            token_type: "passport+jwt",
          },
        },
        { status: 201 },
      );
    });
    const agent = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: "t",
      fetch: t.fetch,
      now: () => now,
    });
    const first = await agent.passport({ audience: "https://shop.test" });
    now += 569_999;
    expect(await agent.passport({ audience: "https://shop.test" })).toBe(first);
    now += 1;
    expect(await agent.passport({ audience: "https://shop.test" })).not.toBe(first);
    expect(serial).toBe(2);
    expect(t.seen[0]?.body).toEqual({ audience: "https://shop.test" });
  });

  test("issuing a passport is retried on 503 (a second passport harms nothing)", async () => {
    const t = transport((_seen, index) =>
      index === 0
        ? Response.json(
            { ok: false, error: { code: "UNAVAILABLE", message: "x", detail: {} } },
            { status: 503 },
          )
        : Response.json({ ok: true, data: { passport: fakeJwt(600), expires_at: "2099-01-01T00:00:00Z" } }),
    );
    const agent = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: "t",
      fetch: t.fetch,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    expect(typeof (await agent.passport())).toBe("string");
    expect(t.seen).toHaveLength(2);
    expect(t.seen[1]?.body).toEqual({});
  });
});

describe("login is never repeated behind the caller's back", () => {
  const challenge = {
    login_request_id: "11111111-1111-4111-8111-111111111111",
    status: "PENDING",
    pow_challenge: "a".repeat(64),
    pow_difficulty: 4,
    pow_algorithm: "sha256",
    expires_at: "2099-01-01T00:00:00Z",
    site: { site_id: "22222222-2222-4222-8222-222222222222", display_name: "Shop" },
  };

  test("the challenge GET is retried on 503, the approval POST is not", async () => {
    const t = transport((seen, index) => {
      if (seen.method === "GET") {
        return index === 0
          ? Response.json(
              { ok: false, error: { code: "UNAVAILABLE", message: "x", detail: {} } },
              { status: 503 },
            )
          : Response.json({ ok: true, data: challenge });
      }
      return Response.json(
        { ok: false, error: { code: "UNAVAILABLE", message: "x", detail: {} } },
        { status: 503 },
      );
    });
    const agent = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: "t",
      fetch: t.fetch,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(agent.login(challenge.login_request_id)).rejects.toMatchObject({ status: 503 });
    expect(t.seen.map((s) => s.method)).toEqual(["GET", "GET", "POST"]);
    const nonce = (t.seen[2]!.body as { pow_nonce: string }).pow_nonce;
    expect(nonce).toMatch(/^(0|[1-9]\d*)$/);
    expect(t.seen[2]?.headers.get("x-agent-token")).toBe("t");
  });

  test("a request that is not PENDING or asks for another algorithm is refused before solving", async () => {
    for (const [patch, code] of [
      [{ status: "EXPIRED" }, "SDK_LOGIN_NOT_PENDING"],
      [{ pow_algorithm: "scrypt" }, "SDK_UNSUPPORTED_POW"],
    ] as const) {
      const t = transport(() => Response.json({ ok: true, data: { ...challenge, ...patch } }));
      const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
      await expect(agent.login(challenge.login_request_id)).rejects.toMatchObject({ code });
      expect(t.seen).toHaveLength(1);
    }
  });

  test("an aborted login rejects with SDK_ABORTED and sends no approval", async () => {
    const t = transport(() => Response.json({ ok: true, data: { ...challenge, pow_difficulty: 30 } }));
    const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
    const controller = new AbortController();
    const pending = agent.login(challenge.login_request_id, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: "SDK_ABORTED" });
    expect(t.seen.map((s) => s.method)).toEqual(["GET"]);
  });

  test("a challenge missing a field is SDK_INVALID_RESPONSE naming it", async () => {
    const { pow_challenge: _dropped, ...broken } = challenge;
    const t = transport(() => Response.json({ ok: true, data: broken }));
    const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
    await expect(agent.login(challenge.login_request_id)).rejects.toMatchObject({
      code: "SDK_INVALID_RESPONSE",
      detail: { field: "pow_challenge" },
    });
  });
});

describe("configuration", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ["LIME_AGENT_TOKEN", "LIME_SITE_TOKEN", "LIME_API_BASE"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  test("falls back to LIME_AGENT_TOKEN and LIME_API_BASE", async () => {
    process.env.LIME_AGENT_TOKEN = "from-env";
    process.env.LIME_API_BASE = "https://env.lime.test/";
    const t = transport(() =>
      Response.json({
        ok: true,
        data: {
          agent_id: "a",
          owner_id: "o",
          display_name: "n",
          avatar_url: null,
          description: null,
          owner_kyc_level: 1,
          agent_reputation: 0,
        },
      }),
    );
    const agent = new AgentClient({ fetch: t.fetch });
    expect(agent.baseUrl).toBe("https://env.lime.test");
    expect((await agent.profile()).agentId).toBe("a");
    expect(t.seen[0]?.headers.get("x-agent-token")).toBe("from-env");
  });

  test("without a token or base URL the constructor says which variable to set", () => {
    delete process.env.LIME_AGENT_TOKEN;
    delete process.env.LIME_API_BASE;
    expect(() => new AgentClient({ agentToken: "t" })).toThrow(/LIME_API_BASE/);
    expect(() => new AgentClient({ baseUrl: "https://x.test" })).toThrow(/LIME_AGENT_TOKEN/);
    delete process.env.LIME_SITE_TOKEN;
    expect(() => new SiteClient({ siteToken: "t" })).toThrow(
      /^SiteClient: baseUrl is required.*LIME_API_BASE/,
    );
    expect(() => new SiteClient({ baseUrl: "https://x.test" })).toThrow(
      /^SiteClient: siteToken is required.*LIME_SITE_TOKEN/,
    );
  });
});

describe("AgentClient.fetch", () => {
  test("sends Authorization: AgentPassport, and on a 401 AgentPassport challenge retries once with a new passport", async () => {
    const site: string[] = [];
    let issued = 0;
    const t = transport((seen) => {
      if (seen.url.startsWith("https://lime.test/")) {
        issued++;
        return Response.json({
          ok: true,
          data: {
            passport: fakeJwt(600, undefined, "https://shop.test"),
            expires_at: "2099-01-01T00:00:00Z",
          },
        });
      }
      site.push(seen.headers.get("authorization") ?? "");
      if (site.length === 1) {
        return new Response("no", {
          status: 401,
          headers: { "www-authenticate": 'AgentPassport realm="x", error="invalid_token"' },
        });
      }
      return Response.json({ body: seen.body });
    });
    const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "t", fetch: t.fetch });
    const response = await agent.fetch("https://shop.test/orders", {
      method: "POST",
      body: JSON.stringify({ n: 1 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ body: { n: 1 } });
    expect(site).toHaveLength(2);
    expect(site[0]).toMatch(/^AgentPassport [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(site[1]).not.toBe(site[0]);
    expect(issued).toBe(2);
    expect(t.seen[0]?.body).toEqual({ audience: "https://shop.test" });
  });
});
