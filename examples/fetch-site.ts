/**
 * A site as a plain fetch handler, `(request: Request) => Response`, the
 * shape Bun.serve, Deno.serve, Hono and Cloudflare Workers all take. The
 * handler below uses only the portable SDK entry; only the last lines pick
 * the runtime's server.
 *
 *   bun examples/fetch-site.ts --once     # throwaway LIME server + this site + a demo agent, then exits
 *   bun examples/fetch-site.ts            # the same, then keeps serving
 *   LIME_API_BASE=... LIME_SITE_TOKEN=... LIME_AGENT_TOKEN=... \
 *     deno run --allow-net --allow-env --allow-read examples/fetch-site.ts --once
 */
import { type PassportContext, SiteClient, withAgentPassport } from "@lime-ts/sdk";
import { runDemoAgent } from "./lib/demo-agent.ts";
import { flag, limeEnv } from "./lib/lime-env.ts";

interface Served {
  origin: string;
  stop(): Promise<void>;
}

/** The site: a three-route fetch handler. `origin` is this site's own origin, the passports' audience. */
export function createSite(site: SiteClient, origin: string): (request: Request) => Promise<Response> {
  const whoami = withAgentPassport(
    { issuer: site.verifier.issuer, audience: origin },
    (_request, passport: PassportContext) =>
      Response.json({
        agent: passport.agentId,
        name: passport.agentName,
        ownerKycLevel: passport.ownerKycLevel,
      }),
  );
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/login") {
      const { requestId, expiresAt } = await site.createLoginRequest();
      return Response.json({ requestId, expiresAt });
    }
    const waiting = /^\/login\/([^/]+)$/.exec(pathname);
    if (request.method === "GET" && waiting) {
      try {
        const passport = await site.waitForLogin(decodeURIComponent(waiting[1]!), { timeout: 60_000 });
        return Response.json({ signedIn: passport.agentId, name: passport.agentName });
      } catch (error) {
        return Response.json(
          { signedIn: null, reason: (error as { code?: string }).code ?? "UNKNOWN" },
          { status: 401 },
        );
      }
    }
    if (request.method === "GET" && pathname === "/api/whoami") return whoami(request);
    return new Response("not found", { status: 404 });
  };
}

/** Bun.serve or Deno.serve on a free loopback port; the handler is the same either way. */
async function serve(
  makeHandler: (origin: string) => (request: Request) => Promise<Response>,
): Promise<Served> {
  const g = globalThis as {
    Deno?: {
      serve(
        options: { hostname: string; port: number; onListen?: () => void },
        handler: (request: Request) => Promise<Response>,
      ): { addr: { port: number }; shutdown(): Promise<void> };
    };
    Bun?: {
      serve(options: { hostname: string; port: number; fetch: (request: Request) => Promise<Response> }): {
        port: number;
        stop(force?: boolean): Promise<void>;
      };
    };
  };
  let handler: (request: Request) => Promise<Response> = async () =>
    new Response("starting", { status: 503 });
  const dispatch = (request: Request) => handler(request);
  if (g.Deno) {
    const server = g.Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, dispatch);
    const origin = `http://127.0.0.1:${server.addr.port}`;
    handler = makeHandler(origin);
    return { origin, stop: () => server.shutdown() };
  }
  const server = g.Bun!.serve({ hostname: "127.0.0.1", port: 0, fetch: dispatch });
  const origin = `http://127.0.0.1:${server.port}`;
  handler = makeHandler(origin);
  return { origin, stop: () => server.stop(true) };
}

const lime = await limeEnv();
const site = new SiteClient({ baseUrl: lime.baseUrl, siteToken: lime.siteToken });
const served = await serve((origin) => createSite(site, origin));
console.log(`[site] fetch-handler site at ${served.origin} (LIME at ${lime.baseUrl})`);

if (lime.agentToken) await runDemoAgent(served.origin, lime.baseUrl, lime.agentToken);

if (flag("--once")) {
  await site.close();
  await served.stop();
  await lime.close();
} else {
  console.log("[site] serving; Ctrl-C to stop");
}
