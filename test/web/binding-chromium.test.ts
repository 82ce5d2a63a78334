/**
 * Agent Binding in headless Chromium, from the example site's "Connect your
 * agent" button: LIME's connect page, sign-in, the agent choice (an existing
 * agent or a new one), approval back to the site with a passport the site
 * SDK verifies; declining; a binding that cannot be approved twice; an
 * expired request; the owner's bindings page with revocation, seen by the
 * site as REVOKED. Every page on the way is checked with axe-core.
 */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { SiteClient } from "@lime-ts/sdk";
import type { Browser, Page } from "playwright-core";
import { createBindingSite } from "../../examples/lib/binding-site-handler.ts";
import { FakeClock, startTestServer, type TestServer } from "../../server/testing.ts";
import { axeAtBothWidths, browserAvailable, freshContext, launchChromium } from "../support/browser.ts";

const PASSWORD = "correct horse battery staple";

interface Setup {
  t: TestServer;
  clock: FakeClock;
  shopUrl: string;
  siteToken: string;
  email: string;
  agentId: string;
  sessionToken: string;
}

describe.skipIf(!browserAvailable)("Agent Binding in headless Chromium", () => {
  let browser: Browser;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** A LIME server of its own, an owner with a site at the example shop's origin and one agent, the shop. */
  async function setup(): Promise<Setup> {
    const clock = new FakeClock();
    const t = await startTestServer({ clock, publicUrlIsOwnUrl: true });
    cleanups.push(() => t.stop());
    let handler: (request: Request) => Promise<Response> = async () =>
      new Response("starting", { status: 503 });
    const shop = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request) });
    cleanups.push(() => shop.stop(true));
    const shopUrl = `http://127.0.0.1:${shop.port}`;

    const email = `binder-${crypto.randomUUID()}@example.test`;
    const { sessionToken } = await t.registerOwner(email, PASSWORD);
    const auth = { authorization: `Bearer ${sessionToken}`, "content-type": "application/json" };
    const registered = await fetch(`${t.url}/api/v1/foundation/sites/register`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ display_name: "Demo shop", origin: shopUrl }),
    });
    const siteToken = ((await registered.json()) as { data: { site_token: string } }).data.site_token;
    const agent = await fetch(`${t.url}/api/v1/core/agents/register`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ display_name: "Shopping agent" }),
    });
    const agentId = ((await agent.json()) as { data: { agent_id: string } }).data.agent_id;

    const site = new SiteClient({ baseUrl: t.url, siteToken, allowInsecureTransport: true });
    cleanups.push(() => site.close());
    handler = createBindingSite(site, shopUrl);
    return { t, clock, shopUrl, siteToken, email, agentId, sessionToken };
  }

  async function newPage(): Promise<Page> {
    const context = await freshContext(browser);
    cleanups.push(() => context.close());
    return context.newPage();
  }

  /** axe-core at 375 and 1280 px: no serious or critical finding on the page the browser is on. */
  async function check(page: Page) {
    expect(await axeAtBothWidths(page)).toEqual([]);
  }

  async function startConnecting(s: Setup, page: Page): Promise<string> {
    await page.goto(`${s.shopUrl}/`);
    await page.getByRole("button", { name: "Connect your agent" }).click();
    await page.waitForURL(/\/connect\?binding_id=/);
    return new URL(page.url()).searchParams.get("binding_id")!;
  }

  /** The connect page's sign-in, back to the page with the agents to choose from. */
  async function signInFromConnectPage(s: Setup, page: Page) {
    await page.getByRole("link", { name: "Sign in to choose" }).click();
    await page.getByLabel("Email address").fill(s.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/connect\?binding_id=/);
  }

  async function siteStatus(
    s: Setup,
    bindingId: string,
  ): Promise<{ status: string; agent_id: string | null }> {
    const response = await fetch(`${s.t.url}/api/v1/modules/bindings/requests/${bindingId}`, {
      headers: { "x-site-token": s.siteToken },
    });
    return ((await response.json()) as { data: { status: string; agent_id: string | null } }).data;
  }

  test("sign in from the connect page, pick the agent, land back on the site with a verified passport", async () => {
    const s = await setup();
    const page = await newPage();
    const bindingId = await startConnecting(s, page);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Connect one of your agents");
    expect(await page.textContent("main")).toContain(new URL(s.shopUrl).host);
    await check(page);

    await signInFromConnectPage(s, page);
    expect(await page.getByRole("radio", { name: /Shopping agent/ }).isChecked()).toBe(true);
    await check(page);

    await page.getByRole("button", { name: "Connect this agent" }).click();
    await page.waitForURL(`${s.shopUrl}/`);
    expect(await page.textContent("body")).toContain(`Connected agent ${s.agentId}`);
    expect(await siteStatus(s, bindingId)).toMatchObject({ status: "COMPLETED", agent_id: s.agentId });

    // The same request cannot be approved again: its page is closed.
    await page.goto(`${s.t.url}/connect?binding_id=${bindingId}`);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
      "This connection request is closed",
    );
    await check(page);
  }, 90_000);

  test("a decision resubmitted from an old page is refused: one approval per request", async () => {
    const s = await setup();
    const page = await newPage();
    const bindingId = await startConnecting(s, page);
    await signInFromConnectPage(s, page);
    const second = await page.context().newPage();
    await second.goto(page.url());
    await page.getByRole("button", { name: "Connect this agent" }).click();
    await page.waitForURL(`${s.shopUrl}/`);
    await second.getByRole("button", { name: "Connect this agent" }).click();
    expect(await second.getByRole("heading", { level: 1 }).textContent()).toBe(
      "This connection request is closed",
    );
    expect(await second.textContent("main")).toContain("already");
    expect((await siteStatus(s, bindingId)).status).toBe("COMPLETED");
  }, 60_000);

  test("a new agent made on the connect page is the one bound", async () => {
    const s = await setup();
    const page = await newPage();
    const bindingId = await startConnecting(s, page);
    await signInFromConnectPage(s, page);
    await page.getByRole("radio", { name: /A new agent/ }).check();
    await page.getByRole("button", { name: "Connect this agent" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("Enter a name for the new agent");
    await check(page);
    await page.getByLabel("Name of the new agent").fill("Made on the spot");
    await page.getByRole("button", { name: "Connect this agent" }).click();
    await page.waitForURL(`${s.shopUrl}/`);
    const bound = await siteStatus(s, bindingId);
    expect(bound.status).toBe("COMPLETED");
    expect(bound.agent_id).not.toBe(s.agentId);
    const agents = await fetch(`${s.t.url}/api/v1/core/agents`, {
      headers: { authorization: `Bearer ${s.sessionToken}` },
    });
    const listed = (
      (await agents.json()) as { data: { agents: { agent_id: string; display_name: string }[] } }
    ).data.agents;
    expect(listed.find((agent) => agent.agent_id === bound.agent_id)?.display_name).toBe("Made on the spot");
  }, 60_000);

  test("declining sends the browser back with access_denied; the site sees DENIED", async () => {
    const s = await setup();
    const page = await newPage();
    const bindingId = await startConnecting(s, page);
    await signInFromConnectPage(s, page);
    await page.getByRole("button", { name: "Decline" }).click();
    await page.waitForURL(`${s.shopUrl}/`);
    expect(await page.textContent("body")).toContain("You declined");
    expect((await siteStatus(s, bindingId)).status).toBe("DENIED");
  }, 60_000);

  test("a visitor who is not signed in can decline too", async () => {
    const s = await setup();
    const page = await newPage();
    const bindingId = await startConnecting(s, page);
    await page.getByRole("button", { name: "Decline and go back to the site" }).click();
    await page.waitForURL(`${s.shopUrl}/`);
    expect((await siteStatus(s, bindingId)).status).toBe("DENIED");
  }, 60_000);

  test("the owner sees the binding in the portal and revokes it; the site reads REVOKED", async () => {
    const s = await setup();
    const page = await newPage();
    const bindingId = await startConnecting(s, page);
    await signInFromConnectPage(s, page);
    await page.getByRole("button", { name: "Connect this agent" }).click();
    await page.waitForURL(`${s.shopUrl}/`);
    await page.goto(`${s.t.url}/bindings`);
    await check(page);
    const row = page.getByRole("row", { name: /Shopping agent/ });
    expect(await row.count()).toBe(1);
    await row.getByRole("button", { name: /Revoke/ }).click();
    expect(await page.getByRole("status").first().textContent()).toContain("revoked");
    expect((await siteStatus(s, bindingId)).status).toBe("REVOKED");
  }, 60_000);

  test("an expired request shows a closed page and cannot be approved", async () => {
    const s = await setup();
    const page = await newPage();
    const bindingId = await startConnecting(s, page);
    await signInFromConnectPage(s, page);
    s.clock.advance(s.t.config.lifetimes.bindingRequestMs + 1000);
    await page.getByRole("button", { name: "Connect this agent" }).click();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
      "This connection request is closed",
    );
    expect(await page.textContent("main")).toContain("expired");
    expect((await siteStatus(s, bindingId)).status).toBe("EXPIRED");
  }, 60_000);
});
