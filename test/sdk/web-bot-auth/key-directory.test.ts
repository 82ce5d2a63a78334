/**
 * The site's cache of agents' key directories, over an injected transport
 * (the keys and thumbprints are real): fetched from the configured issuer
 * only, cached per agent by Cache-Control, revalidated with ETag, refetched
 * for an unknown keyid at most once per cooldown, bounded in agents and in
 * bytes.
 */
import { describe, expect, test } from "bun:test";
import { type AgentKeyPair, generateAgentKey } from "@lime-ts/sdk";
import { KeyDirectory } from "../../../sdk/site/key-directory.ts";

const BASE = "https://issuer.test/.well-known/http-message-signatures-directory/agents/";

function clock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A directory server for agents: the keys each lists, the requests it saw, and how it answers. */
function directoryServer() {
  const server = {
    keys: new Map<string, AgentKeyPair[]>(),
    requests: [] as { url: string; ifNoneMatch: string | null }[],
    mode: "up" as "up" | "down" | "redirect" | "huge",
    extraKeys: [] as unknown[],
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      const ifNoneMatch = new Headers(init?.headers).get("if-none-match");
      server.requests.push({ url, ifNoneMatch });
      if (server.mode === "down") throw new TypeError("connection refused");
      if (server.mode === "redirect")
        return new Response(null, { status: 302, headers: { location: "https://evil.test/" } });
      if (server.mode === "huge") return new Response("x".repeat(70_000), { status: 200 });
      const agentId = decodeURIComponent(url.slice(BASE.length));
      const keys = server.keys.get(agentId);
      if (!url.startsWith(BASE) || keys === undefined) {
        return Response.json({ ok: false, error: { code: "AGENT_NOT_FOUND" } }, { status: 404 });
      }
      const etag = `"${keys.map((k) => k.kid).join(",").length}-${keys.length}"`;
      const headers = { etag, "cache-control": "max-age=60" };
      if (ifNoneMatch === etag) return new Response(null, { status: 304, headers });
      const body = {
        keys: [
          ...server.extraKeys,
          ...keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: "EdDSA", use: "sig" })),
        ],
      };
      return Response.json(body, { headers });
    },
  };
  return server;
}

function directory(server: ReturnType<typeof directoryServer>, time = clock(), options = {}) {
  return new KeyDirectory({ baseUrl: BASE, fetch: server.fetch, now: time.now, ...options });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("KeyDirectory", () => {
  test("fetches an agent's directory once from <issuer>/.well-known/…/agents/<id>; later lookups make no request", async () => {
    const server = directoryServer();
    const key = await generateAgentKey();
    server.keys.set("agt/1", [key]);
    const keys = directory(server);
    for (let i = 0; i < 10; i++) expect(await keys.findKey("agt/1", key.kid)).toEqual(key.publicJwk);
    expect(server.requests.map((r) => r.url)).toEqual([`${BASE}agt%2F1`]);
  });

  test("a keyid the directory lacks refetches once per cooldown (a key registered a moment ago), not once per request", async () => {
    const server = directoryServer();
    const time = clock();
    const first = await generateAgentKey();
    server.keys.set("agt", [first]);
    const keys = directory(server, time, { cooldownMs: 10_000 });
    await keys.findKey("agt", first.kid);
    const added = await generateAgentKey("P-256");
    server.keys.set("agt", [first, added]);
    time.advance(10_000);
    expect(await keys.findKey("agt", added.kid)).toEqual(added.publicJwk);
    const made = "A".repeat(43);
    for (let i = 0; i < 20; i++) expect(await keys.findKey("agt", made)).toBeUndefined();
    expect(server.requests).toHaveLength(2);
    expect(keys.stats.keyMissRefetches).toBe(1);
  });

  test("a stale directory keeps verifying while one conditional refresh runs; 304 keeps it", async () => {
    const server = directoryServer();
    const time = clock();
    const key = await generateAgentKey();
    server.keys.set("agt", [key]);
    const keys = directory(server, time);
    await keys.findKey("agt", key.kid);
    time.advance(61_000);
    expect(await keys.findKey("agt", key.kid)).toEqual(key.publicJwk);
    await settle();
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]?.ifNoneMatch).toBeNull();
    expect(server.requests[1]?.ifNoneMatch).toMatch(/^".+"$/);
    expect(keys.stats.notModified).toBe(1);
  });

  test("a key removed from the directory stops verifying once the cached copy is refreshed", async () => {
    const server = directoryServer();
    const time = clock();
    const key = await generateAgentKey();
    server.keys.set("agt", [key]);
    const keys = directory(server, time);
    await keys.findKey("agt", key.kid);
    server.keys.set("agt", []);
    time.advance(61_000);
    await keys.findKey("agt", key.kid); // served stale, refresh started
    await settle();
    expect(await keys.findKey("agt", key.kid)).toBeUndefined();
  });

  test("an unknown (or revoked) agent is a 404: no keys, remembered like an empty directory", async () => {
    const server = directoryServer();
    const keys = directory(server);
    const kid = "B".repeat(43);
    expect(await keys.findKey("nobody", kid)).toBeUndefined();
    expect(await keys.findKey("nobody", kid)).toBeUndefined();
    expect(server.requests).toHaveLength(1);
  });

  test("never fetched and the issuer unreachable: SDK_KEY_DIRECTORY_UNAVAILABLE (the site cannot tell), not an unknown key", async () => {
    const server = directoryServer();
    server.mode = "down";
    const keys = directory(server);
    await expect(keys.findKey("agt", "C".repeat(43))).rejects.toMatchObject({
      code: "SDK_KEY_DIRECTORY_UNAVAILABLE",
    });
  });

  test("stale past maxStaleMs while the issuer is down: unavailable, the old keys no longer trusted", async () => {
    const server = directoryServer();
    const time = clock();
    const key = await generateAgentKey();
    server.keys.set("agt", [key]);
    const keys = directory(server, time, { maxStaleMs: 60_000, retryAfterFailureMs: 0 });
    await keys.findKey("agt", key.kid);
    server.mode = "down";
    time.advance(60_000 + 60_000 + 1);
    await expect(keys.findKey("agt", key.kid)).rejects.toMatchObject({
      code: "SDK_KEY_DIRECTORY_UNAVAILABLE",
    });
  });

  test("redirects are not followed and an oversized document is refused", async () => {
    for (const mode of ["redirect", "huge"] as const) {
      const server = directoryServer();
      server.mode = mode;
      await expect(directory(server).findKey("agt", "D".repeat(43))).rejects.toMatchObject({
        code: "SDK_KEY_DIRECTORY_UNAVAILABLE",
      });
      expect(server.requests).toHaveLength(1);
    }
  });

  test("keys are filed under the thumbprint computed here; private, RSA and malformed entries are skipped", async () => {
    const server = directoryServer();
    const key = await generateAgentKey();
    const other = await generateAgentKey();
    const exported = await crypto.subtle.exportKey(
      "jwk",
      (await generateAgentKey("Ed25519", { extractable: true })).privateKey,
    );
    server.extraKeys = [
      { ...other.publicJwk, kid: key.kid }, // claims another key's kid
      { kty: exported.kty, crv: exported.crv, x: exported.x, d: exported.d }, // private member
      { kty: "RSA", n: "AQAB", e: "AQAB" },
      { kty: "OKP", crv: "Ed25519", x: "short" },
      "not a key",
    ];
    server.keys.set("agt", [key]);
    const keys = directory(server);
    expect(await keys.findKey("agt", key.kid)).toEqual(key.publicJwk);
    expect(await keys.findKey("agt", other.kid)).toEqual(other.publicJwk);
  });

  test("at most maxAgents directories are held, the least recently used dropped", async () => {
    const server = directoryServer();
    const key = await generateAgentKey();
    for (const agent of ["a", "b", "c"]) server.keys.set(agent, [key]);
    const keys = directory(server, clock(), { maxAgents: 2 });
    await keys.findKey("a", key.kid);
    await keys.findKey("b", key.kid);
    await keys.findKey("a", key.kid); // a is now the most recent
    await keys.findKey("c", key.kid); // drops b
    await keys.findKey("a", key.kid);
    expect(server.requests).toHaveLength(3);
    await keys.findKey("b", key.kid);
    expect(server.requests).toHaveLength(4);
  });
});
