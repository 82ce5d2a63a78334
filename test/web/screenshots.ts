/**
 * Takes the screenshots in docs/portal.md: every page for people, as an
 * owner meets them, at 1280 px and (a few) at 375 px, from a fresh server
 * on a temporary database. Run it after changing a page:
 *
 *   bun test/web/screenshots.ts
 *
 * It writes docs/portal/*.png and prints each page's axe-core result, the
 * table the docs and closing notes quote.
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AgentClient, generateAgentKey, SiteClient } from "@lime-ts/sdk";
import { createBindingSite } from "../../examples/lib/binding-site-handler.ts";
import { resetLinkIn, verificationCodeIn } from "../server/fixtures/smtp-inbox.ts";
import { freshContext, launchChromium, seriousAxeFindings } from "../support/browser.ts";
import { startServerWithInbox } from "./mail-server.ts";

const OUT = join(import.meta.dir, "..", "..", "docs", "portal");
mkdirSync(OUT, { recursive: true });

const { t, inbox } = await startServerWithInbox();
const browser = await launchChromium();
const context = await freshContext(browser);
const page = await context.newPage();
const results: { name: string; path: string; findings: number }[] = [];

async function shoot(name: string, options: { phone?: boolean } = {}) {
  await page.setViewportSize({ width: 1280, height: 860 });
  const findings = (await seriousAxeFindings(page)).length;
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false });
  if (options.phone) {
    await page.setViewportSize({ width: 375, height: 760 });
    await page.screenshot({ path: join(OUT, `${name}-375.png`), fullPage: false });
    await page.setViewportSize({ width: 1280, height: 860 });
  }
  results.push({ name, path: new URL(page.url()).pathname, findings });
}

const email = "ada@example.com";
const password = "correct horse battery staple";

await page.goto(t.url);
await shoot("front", { phone: true });
await page.getByRole("link", { name: "Create an account" }).click();
await page.getByLabel("Email address").fill("ada@");
await page.getByRole("button", { name: "Create account" }).click();
await shoot("sign-up-error", { phone: true });
await page.getByLabel("Email address").fill(email);
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Create account" }).click();
await shoot("confirm-email");
await page.getByLabel("Code").fill(verificationCodeIn(inbox.lastTo(email)!));
await page.getByRole("button", { name: "Confirm" }).click();
await shoot("sign-in");
await page.getByLabel("Email address").fill(email);
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Sign in" }).click();

const nav = (name: string) => page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name });
await nav("Sites").click();
let handler: (request: Request) => Promise<Response> = async () => new Response("starting", { status: 503 });
const shop = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request) });
const shopUrl = `http://127.0.0.1:${shop.port}`;
await page.getByLabel("Name").fill("Example shop");
await page.getByLabel("Origin (optional)").fill(shopUrl);
await page.getByRole("button", { name: "Add site" }).click();
const siteToken = (await page.locator("#site-token").textContent())!.trim();
await shoot("site-token-once", { phone: true });
await page.getByRole("link", { name: /continue to Example shop/i }).click();
await shoot("site");

await nav("Agents").click();
await page.getByLabel("Name").fill("Research bot");
await page.getByLabel("Description (optional)").fill("Reads papers and summarises them");
await page.getByRole("button", { name: "Create agent" }).click();
const agentToken = (await page.locator("#agent-token").textContent())!.trim();
await shoot("agent-token-once");
// The agent registers a signing key of its own, so the agent page shows its keys.
const laptopKey = await generateAgentKey();
await new AgentClient({ baseUrl: t.url, agentToken, signingKey: laptopKey }).registerKey({ label: "laptop" });
await page.getByRole("link", { name: /continue to Research bot/i }).click();
await shoot("agent");
await nav("Agents").click();
await shoot("agents");

await nav("MCP servers").click();
await page.getByLabel("Resource URL").fill("https://tools.example/mcp");
await page.getByLabel("Name").fill("Tools");
await page.getByLabel("Scopes (optional)").fill("mcp:tools mcp:read");
await page.getByRole("button", { name: "Register" }).click();
await nav("MCP servers").click();
await shoot("mcp-servers");

await nav("Verification").click();
await page.getByRole("button", { name: "Request level 2" }).click();
await shoot("verification");

// A binding through the example site's button, then the owner's list.
const site = new SiteClient({ baseUrl: t.url, siteToken, allowInsecureTransport: true });
handler = createBindingSite(site, shopUrl);
await page.goto(`${shopUrl}/`);
await page.getByRole("button", { name: "Connect your agent" }).click();
await page.waitForURL(/\/connect\?binding_id=/);
await shoot("connect", { phone: true });
await page.getByRole("button", { name: "Connect this agent" }).click();
await page.waitForURL(`${shopUrl}/`);
await page.goto(`${t.url}/bindings`);
await shoot("bindings");

await nav("Sites").click();
await shoot("sites");
await nav("Audit log").click();
await shoot("audit-log");
await nav("Overview").click();
await shoot("overview", { phone: true });

// What a signed-out visitor of a connect page sees, and the password pages.
const visitor = await freshContext(browser);
const other = await visitor.newPage();
await other.goto(`${shopUrl}/`);
await other.getByRole("button", { name: "Connect your agent" }).click();
await other.waitForURL(/\/connect\?binding_id=/);
await other.setViewportSize({ width: 1280, height: 860 });
await other.screenshot({ path: join(OUT, "connect-signed-out.png") });
results.push({
  name: "connect-signed-out",
  path: "/connect",
  findings: (await seriousAxeFindings(other)).length,
});
await other.goto(`${t.url}/forgot-password`);
await other.getByLabel("Email address").fill(email);
await other.getByRole("button", { name: "Send the link" }).click();
await other.screenshot({ path: join(OUT, "forgot-password.png") });
results.push({
  name: "forgot-password",
  path: "/forgot-password",
  findings: (await seriousAxeFindings(other)).length,
});
await other.goto(resetLinkIn(inbox.lastTo(email)!));
await other.screenshot({ path: join(OUT, "reset-password.png") });
results.push({
  name: "reset-password",
  path: "/reset-password",
  findings: (await seriousAxeFindings(other)).length,
});

console.table(results);
await site.close();
await visitor.close();
await context.close();
await browser.close();
await shop.stop(true);
await t.stop();
await inbox.stop();
