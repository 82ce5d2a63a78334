/**
 * The owner portal in headless Chromium, as a person uses it: sign up,
 * confirm the email with the code that was mailed, sign in, add a site and
 * copy its token, rotate it, create an agent, see the signing keys it
 * registered and revoke one, register an MCP server, ask
 * for identity verification, read the audit log, sign out. Every page is
 * checked with axe-core at 375 px and 1280 px (no serious or critical
 * finding), must not scroll sideways at 375 px, and the forms work by
 * keyboard alone.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createKeyProof, generateAgentKey } from "@lime-ts/core/http-signatures";
import type { Browser, Page } from "playwright-core";
import type { TestServer } from "../../server/testing.ts";
import { resetLinkIn, type SmtpInbox, verificationCodeIn } from "../server/fixtures/smtp-inbox.ts";
import {
  axeAtBothWidths,
  browserAvailable,
  fitsViewport,
  freshContext,
  launchChromium,
} from "../support/browser.ts";
import { startServerWithInbox } from "./mail-server.ts";

describe.skipIf(!browserAvailable)("the owner portal in headless Chromium", () => {
  let t: TestServer;
  let inbox: SmtpInbox;
  let browser: Browser;

  beforeAll(async () => {
    ({ t, inbox } = await startServerWithInbox());
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await inbox?.stop();
  });

  /** An owner registered and confirmed through the API, for tests about what comes after. */
  async function confirmedOwner(): Promise<{ email: string; sessionToken: string }> {
    const email = `owner-${crypto.randomUUID()}@example.test`;
    const password = "correct horse battery staple";
    const post = (path: string, json: unknown) =>
      fetch(t.url + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(json),
      });
    await post("/api/v1/foundation/users/register", { email, password });
    await post("/api/v1/foundation/users/register/verify", {
      email,
      code: verificationCodeIn(inbox.lastTo(email)!),
    });
    const session = await post("/api/v1/foundation/users/login", { email, password });
    return {
      email,
      sessionToken: ((await session.json()) as { data: { session_token: string } }).data.session_token,
    };
  }

  /** Checks the page the browser is on: axe at both widths, and no sideways scrolling on a phone. */
  const checked: string[] = [];
  const findings: string[] = [];
  async function check(page: Page) {
    findings.push(...(await axeAtBothWidths(page)));
    await page.setViewportSize({ width: 375, height: 900 });
    if (!(await fitsViewport(page))) findings.push(`375px ${page.url()}: the page scrolls sideways`);
    await page.setViewportSize({ width: 1280, height: 900 });
    checked.push(new URL(page.url()).pathname);
  }

  test("a new owner signs up, manages a site, an agent and an MCP server, and every page passes axe", async () => {
    const context = await freshContext(browser);
    const page = await context.newPage();
    const email = `ada-${crypto.randomUUID()}@example.test`;
    const password = "correct horse battery staple";

    await page.goto(t.url);
    await check(page);
    await page.getByRole("link", { name: "Create an account" }).click();
    await check(page);
    // An invalid form shows the error summary, keeps the email and focuses nothing away from it.
    await page.getByLabel("Email address").fill("not-an-email");
    await page.getByRole("button", { name: "Create account" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("Enter an email address");
    await check(page);
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Create account" }).click();

    expect(new URL(page.url()).pathname).toBe("/verify");
    await check(page);
    await page.getByLabel("Code").fill("000000");
    await page.getByRole("button", { name: "Confirm" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("not right");
    // The code as the owner reads it: from the message the SMTP server received.
    await page.getByLabel("Code").fill(verificationCodeIn(inbox.lastTo(email)!));
    await page.getByRole("button", { name: "Confirm" }).click();

    expect(new URL(page.url()).pathname).toBe("/signin");
    expect(await page.getByRole("status").first().textContent()).toContain("email is confirmed");
    await check(page);
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Overview");
    await check(page);

    await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "Sites" }).click();
    await check(page);
    await page.getByLabel("Name").fill("Example shop");
    await page.getByLabel("Origin (optional)").fill("https://shop.example");
    await page.getByLabel("Proof-of-work difficulty").fill("12");
    await page.getByRole("button", { name: "Add site" }).click();
    const firstToken = (await page.locator("#site-token").textContent())!.trim();
    expect(firstToken).toMatch(/^lime_site_[A-Za-z0-9_-]{43}$/);
    await page.getByRole("button", { name: "Copy" }).click();
    // The click returns before the page's async clipboard write settles; wait for its status line.
    await page.locator("#copy-status", { hasText: /copied|Selected/ }).waitFor({ timeout: 5_000 });
    expect(await page.locator("#copy-status").textContent()).toContain("copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(firstToken);
    await check(page);

    await page.getByRole("link", { name: /continue to Example shop/i }).click();
    await check(page);
    await page.getByRole("button", { name: "Rotate token" }).click();
    const secondToken = (await page.locator("#site-token").textContent())!.trim();
    expect(secondToken).not.toBe(firstToken);
    const refused = await fetch(`${t.url}/api/v1/modules/agent-login/requests`, {
      method: "POST",
      headers: { "x-site-token": firstToken, "content-type": "application/json" },
      body: "{}",
    });
    expect(refused.status).toBe(401);

    await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "Agents" }).click();
    await page.getByLabel("Name").fill("Research bot");
    await page.getByRole("button", { name: "Create agent" }).click();
    const agentToken = (await page.locator("#agent-token").textContent())!.trim();
    expect(agentToken).toMatch(/^lime_agent_[A-Za-z0-9_-]{43}$/);
    await check(page);
    await page.getByRole("link", { name: /continue to Research bot/i }).click();
    await check(page);
    const profile = await fetch(`${t.url}/api/v1/core/agents/me/profile`, {
      headers: { "x-agent-token": agentToken },
    });
    expect(profile.status).toBe(200);
    // The agent registers two signing keys; its page lists them, and one is revoked from there.
    const keys = [await generateAgentKey("Ed25519"), await generateAgentKey("P-256")];
    for (const [i, key] of keys.entries()) {
      const registered = await fetch(`${t.url}/api/v1/core/agents/me/keys`, {
        method: "POST",
        headers: {
          "x-agent-token": agentToken,
          "content-type": "application/json",
          dpop: await createKeyProof(key, {
            htm: "POST",
            htu: `${t.config.publicUrl}/api/v1/core/agents/me/keys`,
            iat: Math.floor(t.clock.now() / 1000),
          }),
        },
        body: JSON.stringify({ label: `key ${i + 1}` }),
      });
      expect(registered.status).toBe(201);
    }
    await page.reload();
    const keyTable = page.getByRole("table", { name: "Signing keys of Research bot" });
    expect(await keyTable.getByRole("row").count()).toBe(3);
    expect(await keyTable.locator(`code[title="${keys[0]!.kid}"]`).textContent()).toContain(keys[0]!.kid);
    await check(page);
    await page.getByRole("button", { name: `Revoke key ${keys[0]!.kid.slice(0, 8)} (key 1)` }).click();
    expect(await page.getByRole("status").first().textContent()).toContain("The key is revoked.");
    expect(await keyTable.getByRole("row", { name: /key 1/ }).textContent()).toContain("Revoked");
    expect(await keyTable.getByRole("button", { name: /Revoke key/ }).count()).toBe(1);
    await check(page);

    await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "MCP servers" }).click();
    await check(page);
    await page.getByLabel("Resource URL").fill("https://tools.example/mcp");
    await page.getByLabel("Name").fill("Tools");
    await page.getByLabel("Scopes (optional)").fill("mcp:tools");
    await page.getByRole("button", { name: "Register" }).click();
    expect((await page.locator("#introspection-token").textContent())!.trim()).toMatch(/^lime_rs_/);
    await check(page);

    await page
      .getByRole("navigation", { name: "Portal" })
      .getByRole("link", { name: "Verification" })
      .click();
    await check(page);
    await page.getByRole("button", { name: "Request level 2" }).click();
    expect(await page.getByRole("status").first().textContent()).toContain("reviewer");

    await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "Audit log" }).click();
    expect(await page.getByRole("table").textContent()).toContain("site.token_rotated");
    expect(await page.getByRole("table").textContent()).toContain("agent_key.revoked");
    await check(page);

    await page.getByRole("button", { name: /Sign out/ }).click();
    expect(new URL(page.url()).pathname).toBe("/signin");
    await page.goto(`${t.url}/sites`);
    expect(new URL(page.url()).pathname).toBe("/signin");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/sites");
    await context.close();

    expect(findings).toEqual([]);
    expect(checked.length).toBeGreaterThan(12);
  }, 120_000);

  test("signing in and adding a site work by keyboard alone", async () => {
    const { email } = await confirmedOwner();
    const context = await freshContext(browser);
    const page = await context.newPage();
    await page.goto(`${t.url}/signin`);
    // The skip link comes first, then the form in reading order.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain("Skip to main content");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("field-email");
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    await page.keyboard.type("correct horse battery staple");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${t.url}/`);
    await page.goto(`${t.url}/sites`);
    await page.focus("#field-display_name");
    await page.keyboard.type("Keyboard shop");
    await page.keyboard.press("Enter");
    expect((await page.locator("#site-token").textContent())!.trim()).toMatch(/^lime_site_/);
    await context.close();
  }, 60_000);

  test("a form posted from another origin, or without the page's token, changes nothing", async () => {
    const owner = await confirmedOwner();
    const email = owner.email;
    const context = await freshContext(browser);
    const page = await context.newPage();
    await page.goto(`${t.url}/signin`);
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Password").fill("correct horse battery staple");
    await page.getByRole("button", { name: "Sign in" }).click();
    // The browser sends the session cookie, but the page's CSRF token is not in a forged form.
    await page.evaluate(() => {
      const form = document.createElement("form");
      form.method = "post";
      form.action = "/sites";
      for (const [name, value] of [
        ["display_name", "Forged"],
        ["csrf_token", "lime_csrf_forged"],
      ]) {
        const input = document.createElement("input");
        input.name = name!;
        input.value = value!;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    });
    await page.waitForLoadState();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Request refused");
    const sites = await fetch(`${t.url}/api/v1/foundation/sites`, {
      headers: { authorization: `Bearer ${owner.sessionToken}` },
    });
    expect(((await sites.json()) as { data: { sites: unknown[] } }).data.sites).toEqual([]);
    await context.close();
  }, 60_000);

  test("a forgotten password is reset from the link in the mail; the link works once", async () => {
    const { email, sessionToken } = await confirmedOwner();
    const context = await freshContext(browser);
    const page = await context.newPage();
    await page.goto(`${t.url}/signin`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    expect(await axeAtBothWidths(page)).toEqual([]);
    await page.getByLabel("Email address").fill(email);
    await page.getByRole("button", { name: "Send the link" }).click();
    expect(await page.getByRole("status").first().textContent()).toContain("on its way");

    const link = resetLinkIn(inbox.lastTo(email)!);
    expect(link.startsWith(`${t.url}/reset-password?token=`)).toBe(true);
    await page.goto(link);
    expect(await axeAtBothWidths(page)).toEqual([]);
    await page.getByLabel("New password").fill("short");
    await page.getByRole("button", { name: "Set new password" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("at least 8 characters");
    await page.getByLabel("New password").fill("a brand new passphrase");
    await page.getByRole("button", { name: "Set new password" }).click();
    expect(await page.getByRole("status").first().textContent()).toContain("password is changed");

    // The sessions of before are closed; the old password no longer works, the new one does.
    const me = await fetch(`${t.url}/api/v1/foundation/users/me`, {
      headers: { authorization: `Bearer ${sessionToken}` },
    });
    expect(me.status).toBe(401);
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Password").fill("correct horse battery staple");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("not correct");
    await page.getByLabel("Password").fill("a brand new passphrase");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Overview");

    await page.goto(link);
    await page.getByLabel("New password").fill("yet another passphrase");
    await page.getByRole("button", { name: "Set new password" }).click();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("This link no longer works");
    expect(await axeAtBothWidths(page)).toEqual([]);
    await context.close();
  }, 90_000);
});
