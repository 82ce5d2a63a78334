/**
 * The OAuth provider's pages for people (sign in to continue, consent, the
 * error page) share the portal's shell and pass the same axe-core check at
 * 375 px and 1280 px, with the wrong-password state included.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import {
  authorizationPath,
  type ProvisionedServer,
  pkcePair,
  registerClient,
  startProvisionedServer,
} from "../oauth/helpers.ts";
import {
  axeAtBothWidths,
  browserAvailable,
  fitsViewport,
  freshContext,
  launchChromium,
} from "../support/browser.ts";

const RESOURCE = "https://tools.example/mcp";

describe.skipIf(!browserAvailable)("the OAuth pages for people", () => {
  let t: ProvisionedServer;
  let browser: Browser;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { scopes: ["mcp:tools", "mcp:read"] });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("sign-in (with its error), consent and the error page pass axe and fit a phone", async () => {
    const redirectUri = "http://127.0.0.1:9/callback";
    const clientId = await registerClient(t.url, { client_name: "Inspector", redirect_uris: [redirectUri] });
    const context = await freshContext(browser);
    const page = await context.newPage();
    const findings: string[] = [];
    const check = async () => {
      findings.push(...(await axeAtBothWidths(page)));
      await page.setViewportSize({ width: 375, height: 900 });
      if (!(await fitsViewport(page))) findings.push(`${page.url()}: scrolls sideways at 375 px`);
      await page.setViewportSize({ width: 1280, height: 900 });
    };
    const path = authorizationPath({
      clientId,
      resource: RESOURCE,
      challenge: pkcePair().challenge,
      method: "S256",
      redirectUri,
      state: "axe",
    });
    await page.goto(t.url + path);
    expect(await page.textContent("h1")).toBe("Sign in to continue");
    await check();

    await page.getByLabel("Email").fill(t.owner.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("not correct");
    await check();

    await page.getByLabel("Email").fill(t.owner.email);
    await page.getByLabel("Password").fill(t.owner.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.textContent("h1")).toBe("Authorize access");
    expect(await page.textContent(".warning")).toContain("on this computer");
    await check();

    await page.goto(`${t.url}/api/v1/modules/oauth/authorize?client_id=nobody`);
    expect(await page.getByRole("alert").count()).toBe(1);
    await check();
    await context.close();
    expect(findings).toEqual([]);
  }, 90_000);
});
