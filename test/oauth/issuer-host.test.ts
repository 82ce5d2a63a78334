/**
 * The browser flow's pages are served only on the issuer's host
 * (server/modules/oauth/issuer-host.ts): another loopback name of the same
 * server is redirected there; APIs, agents and other hosts are not.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { issuerLocationFor } from "../../server/modules/oauth/issuer-host.ts";
import {
  authorizationPath,
  type ProvisionedServer,
  pkcePair,
  registerClient,
  startProvisionedServer,
} from "./helpers.ts";

const PAGES = ["/api/v1/modules/oauth/authorize", "/api/v1/modules/oauth/authorize/consent"];
const ISSUER = "http://localhost:3000";

function pageRequest(host: string, path = `${PAGES[0]}?client_id=x&state=s`, init: RequestInit = {}) {
  // The transport builds every request URL on http://localhost; the Host header says where it came.
  const headers = new Headers(init.headers);
  headers.set("host", host);
  return new Request(`http://localhost${path}`, { ...init, headers });
}

describe("which requests go to the issuer's host", () => {
  test("a page opened on another loopback name of the same port: the same path and query on the issuer", () => {
    for (const host of ["127.0.0.1:3000", "127.1.2.3:3000", "[::1]:3000"]) {
      expect(issuerLocationFor(pageRequest(host), ISSUER, PAGES)).toBe(
        `${ISSUER}${PAGES[0]}?client_id=x&state=s`,
      );
    }
    expect(
      issuerLocationFor(
        pageRequest("127.0.0.1:3000", `${PAGES[1]}?authorization_request_id=r`),
        ISSUER,
        PAGES,
      ),
    ).toBe(`${ISSUER}${PAGES[1]}?authorization_request_id=r`);
  });

  test("served where it is: the issuer's own host, another port, a non-loopback host, no Host", () => {
    for (const host of ["localhost:3000", "127.0.0.1:3001", "lime.example:3000", "10.0.0.5:3000", ""]) {
      expect(issuerLocationFor(pageRequest(host), ISSUER, PAGES)).toBeNull();
    }
  });

  test("served where it is: an agent (x-agent-token), a POST, an API path, a non-loopback issuer", () => {
    const agent = pageRequest("127.0.0.1:3000", undefined, { headers: { "x-agent-token": "lime_agent_x" } });
    expect(issuerLocationFor(agent, ISSUER, PAGES)).toBeNull();
    const post = pageRequest("127.0.0.1:3000", `${PAGES[0]}/login`, { method: "POST", body: "a=b" });
    expect(issuerLocationFor(post, ISSUER, PAGES)).toBeNull();
    expect(
      issuerLocationFor(pageRequest("127.0.0.1:3000", "/api/v1/foundation/users/me"), ISSUER, PAGES),
    ).toBeNull();
    expect(issuerLocationFor(pageRequest("127.0.0.1:443"), "https://lime.example", PAGES)).toBeNull();
  });
});

describe("over HTTP, with the issuer on localhost", () => {
  let t: ProvisionedServer;
  let clientId: string;
  const redirectUri = "http://127.0.0.1:8976/callback";
  beforeAll(async () => {
    t = await startProvisionedServer("https://tools.example/mcp", { issuerHost: "localhost" });
    clientId = await registerClient(t.url, { client_name: "Host test", redirect_uris: [redirectUri] });
  });
  afterAll(async () => {
    await t.stop();
  });
  const path = () =>
    authorizationPath({
      clientId,
      resource: "https://tools.example/mcp",
      challenge: pkcePair().challenge,
      method: "S256",
      redirectUri,
      state: "s",
    });

  test("the sign-in page requested on 127.0.0.1 is a 302 to localhost, before any cookie is set", async () => {
    const requested = path();
    const response = await fetch(`${t.url}${requested}`, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${t.issuer}${requested}`);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  test("an agent asking on 127.0.0.1 still gets its challenge there", async () => {
    const response = await fetch(`${t.url}${path()}`, {
      redirect: "manual",
      headers: { "x-agent-token": t.agent.agentToken },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { ok: boolean }).ok).toBe(true);
  });
});
