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
import type { Browser, Page } from "playwright-core";
import { browserAvailable, launchChromium } from "../support/browser.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";
import {
  authorizationPath,
  exchangeCode,
  type ProvisionedServer,
  peekClaims,
  pkcePair,
  registerClient,
  startProvisionedServer,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";

describe.skipIf(!browserAvailable)("consent in headless Chromium", () => {
  let t: ProvisionedServer;
  let browser: Browser;
  let callbacks: URL[];
  let clientApp: ReturnType<typeof Bun.serve>;
  let redirectUri: string;
  let clientId: string;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { scopes: ["mcp:tools"] });
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
    browser = await launchChromium();
  }, SLOW_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await clientApp?.stop(true);
    await t?.stop();
  });

  const authorizationUrl = (challenge: string, state: string) =>
    `${t.url}${authorizationPath({ clientId, resource: RESOURCE, challenge, method: "S256", redirectUri, state })}`;
  /** A page in a fresh browser context (no cookies), closed after `use`. */
  const inFreshContext = async (use: (page: Page) => Promise<void>) => {
    const context = await browser.newContext();
    try {
      await use(await context.newPage());
    } finally {
      await context.close();
    }
  };
  /** Fills the sign-in form as the owner and waits for the consent page. */
  const signIn = async (page: Page) => {
    await page.fill('input[name="email"]', t.owner.email);
    await page.fill('input[name="password"]', t.owner.password);
    await Promise.all([page.waitForURL(/\/authorize\/consent/), page.click('button[type="submit"]')]);
  };

  test(
    "sign in, read the consent page, approve: the browser lands on the client with code, state and iss",
    async () => {
      const pkce = pkcePair();
      await inFreshContext(async (page) => {
        await page.goto(authorizationUrl(pkce.challenge, "browser-state"));
        expect(await page.textContent("h1")).toBe("Sign in to continue");
        await signIn(page);
        expect(await page.textContent("h1")).toBe("Authorize access");
        const text = (await page.textContent("body"))!;
        expect(text).toContain("Browser test client");
        expect(text).toContain(`127.0.0.1:${clientApp.port}`);
        expect(text).toContain(RESOURCE);
        expect(text).toContain(t.owner.email);
        await Promise.all([page.waitForURL(/\/callback/), page.click("#approve")]);
        expect(await page.textContent("#done")).toContain("Back in the client");
      });
      const callback = callbacks.at(-1)!;
      expect(callback.searchParams.get("state")).toBe("browser-state");
      expect(callback.searchParams.get("iss")).toBe(t.issuer);
      const tokens = await exchangeCode(
        t.url,
        { code: callback.searchParams.get("code")!, verifier: pkce.verifier, clientId },
        { redirect_uri: redirectUri, resource: RESOURCE },
      );
      expect(tokens.status).toBe(200);
      expect(peekClaims(tokens.body.access_token).sub).toBe(t.owner.ownerId);
      expect(peekClaims(tokens.body.access_token).lime_principal).toBe("owner");
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "deny: the browser lands on the client with access_denied and no code",
    async () => {
      await inFreshContext(async (page) => {
        await page.goto(authorizationUrl(pkcePair().challenge, "deny-state"));
        await signIn(page);
        await Promise.all([page.waitForURL(/\/callback/), page.click("#deny")]);
      });
      const callback = callbacks.at(-1)!;
      expect(callback.searchParams.get("error")).toBe("access_denied");
      expect(callback.searchParams.get("state")).toBe("deny-state");
      expect(callback.searchParams.get("code")).toBeNull();
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "an already signed-in owner goes straight to consent; a cross-origin frame cannot show it",
    async () => {
      await inFreshContext(async (page) => {
        await page.goto(authorizationUrl(pkcePair().challenge, "s1"));
        await signIn(page);
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
      });
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
