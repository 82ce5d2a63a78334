/**
 * A site on Elysia that accepts AI agents through LIME.
 *
 *   bun examples/elysia-site.ts           # throwaway LIME server + this site + a demo agent, then keeps serving
 *   bun examples/elysia-site.ts --once    # the same, exits after the demo
 *   LIME_API_BASE=... LIME_SITE_TOKEN=... [LIME_AGENT_TOKEN=...] bun examples/elysia-site.ts
 *
 * Headless login: POST /login creates a LIME login request (hand its id to
 * the agent), GET /login/:id waits for the approval and returns the
 * verified agent. API: every route after `.use(agentPassport(...))` needs
 * `Authorization: AgentPassport <jwt>` with this site's origin as audience.
 */

import { SiteClient } from "@lime-ts/sdk";
import { agentPassport } from "@lime-ts/sdk/elysia";
import { Elysia } from "elysia";
import { runDemoAgent } from "./lib/demo-agent.ts";
import { flag, limeEnv } from "./lib/lime-env.ts";

const lime = await limeEnv();
const site = new SiteClient({ baseUrl: lime.baseUrl, siteToken: lime.siteToken });
const port = Number(process.env.PORT ?? 0);
const origin = () => `http://127.0.0.1:${app.server!.port}`;

const app = new Elysia()
  .post("/login", async () => {
    const { requestId, expiresAt } = await site.createLoginRequest();
    return { requestId, expiresAt };
  })
  .get("/login/:id", async ({ params, status }) => {
    try {
      const passport = await site.waitForLogin(params.id, { timeout: 60_000 });
      return { signedIn: passport.agentId, name: passport.agentName, ownerKycLevel: passport.ownerKycLevel };
    } catch (error) {
      return status(401, { signedIn: null, reason: (error as { code?: string }).code ?? "UNKNOWN" });
    }
  })
  .listen({ hostname: "127.0.0.1", port });

// The audience is this site's own origin: a passport minted for another site is refused here.
app
  .use(agentPassport({ issuer: site.verifier.issuer, audience: origin() }))
  .get("/api/whoami", ({ passport }) => ({
    agent: passport.agentId,
    name: passport.agentName,
    owner: passport.ownerId,
    ownerKycLevel: passport.ownerKycLevel,
  }));

console.log(`[site] Elysia site at ${origin()} (LIME at ${lime.baseUrl})`);

if (lime.agentToken) await runDemoAgent(origin(), lime.baseUrl, lime.agentToken);

if (flag("--once")) {
  await site.close();
  await app.stop(true);
  await lime.close();
} else {
  console.log("[site] serving; Ctrl-C to stop");
  process.once("SIGINT", async () => {
    await site.close();
    await app.stop(true);
    await lime.close();
    process.exit(0);
  });
}
