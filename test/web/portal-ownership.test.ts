/**
 * The portal's record pages (`/sites/{id}`, `/agents/{id}`, their actions,
 * `/resources/{id}/delete`) answer another owner's record exactly as they
 * answer an unknown or malformed id: 404 "not found", nothing changed. Plain
 * HTTP with the session cookies a browser would hold; the browser tests
 * cover the pages themselves.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../../server/testing.ts";

const PASSWORD = "correct horse battery staple";

let t: TestServer;

beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.stop();
});

interface Browser {
  cookie: string;
  csrfToken: string;
}

/** Signs in through the API, keeping the cookies a browser would keep. */
async function signIn(email: string): Promise<Browser> {
  const response = await fetch(`${t.url}/api/v1/foundation/users/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  const pairs = response.headers.getSetCookie().map((line) => line.split(";")[0] as string);
  const csrf = pairs.find((pair) => pair.startsWith("lime_csrf="));
  if (!csrf) throw new Error("login set no lime_csrf cookie");
  return { cookie: pairs.join("; "), csrfToken: decodeURIComponent(csrf.slice("lime_csrf=".length)) };
}

/** A second owner with a site and an agent, and the first owner's signed-in browser. */
async function twoOwners() {
  const email = `owner-${crypto.randomUUID()}@example.test`;
  await t.registerOwner(email, PASSWORD);
  const browser = await signIn(email);
  const other = await t.provision();
  return { browser, other };
}

const view = (browser: Browser, path: string) =>
  fetch(`${t.url}${path}`, { headers: { cookie: browser.cookie, accept: "text/html" } });

const submit = (browser: Browser, path: string) =>
  fetch(`${t.url}${path}`, {
    method: "POST",
    headers: {
      cookie: browser.cookie,
      accept: "text/html",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ csrf_token: browser.csrfToken }),
    redirect: "manual",
  });

/** The stored status and token hash of a site or agent. */
function stored(table: "sites" | "agents", id: string): { status: string; token_hash: string } {
  const row = t.db.query(`SELECT status, token_hash FROM ${table} WHERE id = ?`).get(id);
  if (!row) throw new Error(`${table} ${id} is gone`);
  return row as { status: string; token_hash: string };
}

describe("portal: records of other owners are not found", () => {
  test("another owner's site and agent, an unknown id and a malformed id all get the same 404 page", async () => {
    const { browser, other } = await twoOwners();
    const cases: [string, string][] = [
      [`/sites/${other.siteId}`, "Site not found"],
      [`/sites/${crypto.randomUUID()}`, "Site not found"],
      ["/sites/not-a-uuid", "Site not found"],
      [`/agents/${other.agentId}`, "Agent not found"],
      [`/agents/${crypto.randomUUID()}`, "Agent not found"],
      ["/agents/..%2Fsites", "Agent not found"],
    ];
    for (const [path, heading] of cases) {
      const response = await view(browser, path);
      const body = await response.text();
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(body).toContain(`<h1>${heading}</h1>`);
      expect(body).not.toContain("Test shop");
      expect(body).not.toContain("Test agent");
    }
  });

  test("actions on another owner's site and agent answer 404 and change nothing", async () => {
    const { browser, other } = await twoOwners();
    const before = { site: stored("sites", other.siteId), agent: stored("agents", other.agentId) };
    expect(before.site.status).toBe("ACTIVE");
    expect(before.agent.status).toBe("ACTIVE");
    for (const path of [
      `/sites/${other.siteId}/suspend`,
      `/sites/${other.siteId}/token`,
      `/agents/${other.agentId}/revoke`,
      `/agents/${other.agentId}/token`,
    ]) {
      const response = await submit(browser, path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
    // Neither suspended, revoked nor rotated.
    expect({ site: stored("sites", other.siteId), agent: stored("agents", other.agentId) }).toEqual(before);
    expect((await submit(browser, "/resources/not-a-uuid/delete")).status).toBe(404);
  });

  test("the owner's own site page is found, so the 404s above are about ownership", async () => {
    const email = `owner-${crypto.randomUUID()}@example.test`;
    const { sessionToken } = await t.registerOwner(email, PASSWORD);
    const site = await fetch(`${t.url}/api/v1/foundation/sites/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${sessionToken}`, "content-type": "application/json" },
      body: JSON.stringify({ display_name: "My own shop" }),
    });
    const { data } = (await site.json()) as { data: { site_id: string } };
    const browser = await signIn(email);
    const response = await view(browser, `/sites/${data.site_id}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("My own shop");
  });
});
