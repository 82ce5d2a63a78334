/**
 * The consent page in a real browser: headless Chromium (playwright-core
 * driving Debian's chromium) opens the authorization URL, the owner signs
 * in, reads the consent page and approves or denies; the browser lands on
 * the client's redirect URI with the code (or the error), `state` and
 * `iss`. This also proves what only a browser enforces: the pages' CSP lets
 * the form post and the redirect that follows happen, and a cross-origin
 * frame cannot show the page (clickjacking).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import {
  authorizationPath,
  type OAuthTestServer,
  type Owner,
  peekClaims,
  pkcePair,
  registerClient,
  registerOwner,
  registerResource,
  startOAuthServer,
  tokenRequest,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Without a browser the suite is skipped locally; under CI (which installs one) it must run.
const available = existsSync(executablePath) || Boolean(process.env.CI);

describe.skipIf(!available)("consent in headless Chromium", () => {
  let t: OAuthTestServer;
  let owner: Owner;
  let browser: Browser;
  let callbacks: URL[];
  let clientApp: ReturnType<typeof Bun.serve>;
  let redirectUri: string;
  let clientId: string;

  beforeAll(async () => {
    t = await startOAuthServer();
    owner = await registerOwner(t.url);
    await registerResource(t.url, owner, RESOURCE, ["mcp:tools"]);
    callbacks = [];
    clientApp = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === "/callback") {
          callbacks.push(url);
          return new Response("<!doctype html><title>done</title><p id=done>Back in the client.</p>", {
            headers: { "content-type": "text/html" },
          });
        }
        if (url.pathname === "/frame") {
          const target = url.searchParams.get("target")!;
          return new Response(`<!doctype html><iframe id=victim src="${target}"></iframe>`, {
            headers: { "content-type": "text/html" },
          });
        }
        return new Response("not found", { status: 404 });
      },
    });
    redirectUri = `http://127.0.0.1:${clientApp.port}/callback`;
    clientId = await registerClient(t.url, {
      client_name: "Browser test client",
      redirect_uris: [redirectUri],
    });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await clientApp?.stop(true);
    await t?.stop();
  });

  const authorizationUrl = (challenge: string, state: string) =>
    `${t.url}${authorizationPath({ clientId, resource: RESOURCE, challenge, method: "S256", redirectUri, state })}`;

  test("sign in, read the consent page, approve: the browser lands on the client with code, state and iss", async () => {
    const pkce = pkcePair();
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(authorizationUrl(pkce.challenge, "browser-state"));
      expect(await page.textContent("h1")).toBe("Sign in to continue");
      await page.fill('input[name="email"]', owner.email);
      await page.fill('input[name="password"]', owner.password);
      await Promise.all([page.waitForURL(/\/authorize\/consent/), page.click('button[type="submit"]')]);
      expect(await page.textContent("h1")).toBe("Authorize access");
      const text = (await page.textContent("body"))!;
      expect(text).toContain("Browser test client");
      expect(text).toContain(`127.0.0.1:${clientApp.port}`);
      expect(text).toContain(RESOURCE);
      expect(text).toContain(owner.email);
      await Promise.all([page.waitForURL(/\/callback/), page.click("#approve")]);
      expect(await page.textContent("#done")).toContain("Back in the client");
    } finally {
      await context.close();
    }
    const callback = callbacks.at(-1)!;
    expect(callback.searchParams.get("state")).toBe("browser-state");
    expect(callback.searchParams.get("iss")).toBe(t.issuer);
    const tokens = await tokenRequest(t.url, {
      grant_type: "authorization_code",
      code: callback.searchParams.get("code")!,
      code_verifier: pkce.verifier,
      redirect_uri: redirectUri,
      client_id: clientId,
      resource: RESOURCE,
    });
    expect(tokens.status).toBe(200);
    expect(peekClaims(tokens.body.access_token).sub).toBe(owner.ownerId);
    expect(peekClaims(tokens.body.access_token).lime_principal).toBe("owner");
  }, 60_000);

  test("deny: the browser lands on the client with access_denied and no code", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(authorizationUrl(pkcePair().challenge, "deny-state"));
      await page.fill('input[name="email"]', owner.email);
      await page.fill('input[name="password"]', owner.password);
      await Promise.all([page.waitForURL(/\/authorize\/consent/), page.click('button[type="submit"]')]);
      await Promise.all([page.waitForURL(/\/callback/), page.click("#deny")]);
    } finally {
      await context.close();
    }
    const callback = callbacks.at(-1)!;
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe("deny-state");
    expect(callback.searchParams.get("code")).toBeNull();
  }, 60_000);

  test("an already signed-in owner goes straight to consent; a cross-origin frame cannot show it", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(authorizationUrl(pkcePair().challenge, "s1"));
      await page.fill('input[name="email"]', owner.email);
      await page.fill('input[name="password"]', owner.password);
      await Promise.all([page.waitForURL(/\/authorize\/consent/), page.click('button[type="submit"]')]);
      await page.goto(authorizationUrl(pkcePair().challenge, "s2"));
      expect(await page.textContent("h1")).toBe("Authorize access");

      const framed = `http://127.0.0.1:${clientApp.port}/frame?target=${encodeURIComponent(authorizationUrl(pkcePair().challenge, "s3"))}`;
      await page.goto(framed);
      await page.waitForTimeout(500);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      // Chromium replaces a refused frame with its own error document: no consent form in it.
      const ourFormInFrame = await frame
        ?.evaluate(() => document.querySelector('form[action*="/oauth/authorize"]') !== null)
        .catch(() => false);
      expect(ourFormInFrame ?? false).toBe(false);
    } finally {
      await context.close();
    }
  }, 60_000);
});
