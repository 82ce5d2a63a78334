/**
 * Regression (issue 8): on a development server the sign-in form did
 * nothing when the page was opened as `http://127.0.0.1:3000` while the
 * issuer is the default `http://localhost:3000`. The form posts to the
 * issuer and the CSP's `form-action 'self'` named the page's host, so
 * Chromium blocked the post without a word; and had it gone out, the
 * sign-in cookie (set for 127.0.0.1) and the Origin check (localhost) would
 * have refused it. Now a page request on another loopback name is sent to
 * the issuer's host first, so signing in works from either name.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { browserAvailable, launchChromium } from "../support/browser.ts";
import {
  authorizationPath,
  exchangeCode,
  type ProvisionedServer,
  pkcePair,
  registerClient,
  startProvisionedServer,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";

describe.skipIf(!browserAvailable)(
  "signing in through the form from either loopback name, in Chromium",
  () => {
    let browser: Browser;
    let clientApp: ReturnType<typeof Bun.serve>;
    const callbacks: URL[] = [];

    beforeAll(async () => {
      clientApp = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        fetch(request) {
          callbacks.push(new URL(request.url));
          return new Response("<!doctype html><title>done</title><p id=done>Back in the client.</p>", {
            headers: { "content-type": "text/html" },
          });
        },
      });
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await clientApp?.stop(true);
    });

    for (const [issuerHost, pageHost] of [
      ["localhost", "127.0.0.1"],
      ["127.0.0.1", "localhost"],
      ["127.0.0.1", "127.0.0.1"],
    ] as const) {
      test(`issuer on ${issuerHost}, page opened on ${pageHost}: sign in, approve, land on the client with a code`, async () => {
        let t: ProvisionedServer | undefined;
        const context = await browser.newContext();
        try {
          t = await startProvisionedServer(RESOURCE, { scopes: ["mcp:tools"], issuerHost });
          const redirectUri = `http://127.0.0.1:${clientApp.port}/callback`;
          const clientId = await registerClient(t.url, {
            client_name: "Loopback client",
            redirect_uris: [redirectUri],
          });
          const pkce = pkcePair();
          const state = `state-${issuerHost}-${pageHost}`;
          const path = authorizationPath({
            clientId,
            resource: RESOURCE,
            challenge: pkce.challenge,
            method: "S256",
            redirectUri,
            state,
          });
          const page = await context.newPage();
          const blocked: string[] = [];
          page.on("console", (message) => {
            if (message.text().includes("Content Security Policy")) blocked.push(message.text());
          });
          await page.goto(`http://${pageHost}:${new URL(t.url).port}${path}`);
          expect(await page.textContent("h1")).toBe("Sign in to continue");
          expect(new URL(page.url()).hostname).toBe(issuerHost);

          await page.fill('input[name="email"]', t.owner.email);
          await page.fill('input[name="password"]', t.owner.password);
          await Promise.all([page.waitForURL(/\/authorize\/consent/), page.click('button[type="submit"]')]);
          expect(await page.textContent("h1")).toBe("Authorize access");
          await Promise.all([page.waitForURL(/\/callback/), page.click("#approve")]);
          expect(await page.textContent("#done")).toContain("Back in the client");
          expect(blocked).toEqual([]);

          const callback = callbacks.find((url) => url.searchParams.get("state") === state)!;
          expect(callback.searchParams.get("iss")).toBe(t.issuer);
          const tokens = await exchangeCode(
            t.url,
            { code: callback.searchParams.get("code")!, verifier: pkce.verifier, clientId },
            { redirect_uri: redirectUri, resource: RESOURCE },
          );
          expect(tokens.status).toBe(200);
        } finally {
          await context.close();
          await t?.stop();
        }
      }, 60_000);
    }
  },
);
