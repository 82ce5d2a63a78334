/**
 * "Connect your agent": a site that lets its signed-in user bind one of
 * their AI agents through LIME's Agent Binding.
 *
 *   bun examples/binding-site.ts --once   # throwaway LIME server + this site + a scripted browser, then exits
 *   bun examples/binding-site.ts          # the same, then keeps serving: open the printed URL
 *   LIME_API_BASE=... LIME_SITE_TOKEN=... bun examples/binding-site.ts   # your LIME; register this site's origin there
 *
 * The flow, in three routes:
 *   POST /connect          create a binding request, keep its id in the session, 303 to LIME's connect_url
 *   GET  /lime/callback    LIME sends the browser back with ?passport=<JWT>&binding_id=<id> (or
 *                          ?error=access_denied): check the id is this session's, verify the passport, bind
 *   GET  /                 the page with the button, or the bound agent
 *
 * The binding id kept in the session is what makes the callback safe: a
 * connect URL someone forwarded to another person comes back in that
 * person's browser, whose session did not start it, and is refused.
 */
import { SiteClient } from "@lime-ts/sdk";
import { createBindingSite } from "./lib/binding-site-handler.ts";
import { flag, limeEnv } from "./lib/lime-env.ts";

/** A scripted browser: one cookie, redirects followed by hand so each hop is printed. */
class DemoBrowser {
  #cookie = "";

  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: this.#cookie ? { cookie: this.#cookie } : {},
    });
    const set = response.headers.get("set-cookie");
    if (set) this.#cookie = set.split(";")[0]!;
    return response;
  }
}

/** The demo: connect and decline, then connect and pick the agent. The LIME hop is the hosted page's step. */
async function runDemo(
  siteUrl: string,
  hostedConnect: NonNullable<Awaited<ReturnType<typeof limeEnv>>["hostedConnect"]>,
): Promise<void> {
  const browser = new DemoBrowser();
  await browser.go(`${siteUrl}/`);
  for (const choice of ["decline", "pickAgent"] as const) {
    const started = await browser.go(`${siteUrl}/connect`, { method: "POST" });
    const connectUrl = started.headers.get("location")!;
    console.log(`[browser] "Connect your agent" -> ${started.status} to ${connectUrl}`);
    const bindingId = new URL(connectUrl).searchParams.get("binding_id")!;
    // On LIME's connect page the user signs in and picks an agent or declines; here its service does it.
    const back = await hostedConnect[choice](bindingId);
    console.log(`[browser] LIME (${choice}) -> back to ${back.replace(/passport=[^&]+/, "passport=<JWT>")}`);
    const callback = await browser.go(back);
    const home = await browser.go(new URL(callback.headers.get("location")!, siteUrl).href);
    const html = await home.text();
    const notice = /<em>([^<]*)<\/em>/.exec(html)?.[1] ?? "";
    const agent = /Connected agent <code>([^<]+)<\/code>/.exec(html)?.[1];
    console.log(`[site] ${notice}${agent ? ` Connected agent ${agent}.` : ""}`);
  }
  // A connect URL forwarded to someone else: their browser brings the passport back, but did not start it.
  const started = await browser.go(`${siteUrl}/connect`, { method: "POST" });
  const bindingId = new URL(started.headers.get("location")!).searchParams.get("binding_id")!;
  const forwarded = await new DemoBrowser().go(await hostedConnect.pickAgent(bindingId));
  console.log(`[other browser] a callback for a connection it did not start -> ${forwarded.status}`);
}

const port = Number(process.env.PORT ?? 0);
let handler: (request: Request) => Promise<Response> = async () => new Response("starting", { status: 503 });
const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: (request) => handler(request) });
const origin = `http://127.0.0.1:${server.port}`;

const lime = await limeEnv({ siteOrigin: origin });
const site = new SiteClient({ baseUrl: lime.baseUrl, siteToken: lime.siteToken });
handler = createBindingSite(site, origin);
console.log(`[site] binding demo at ${origin}/ (LIME at ${lime.baseUrl})`);
if (!lime.hostedConnect) {
  console.log(`[site] the site registered at LIME must have the origin ${origin}`);
}

if (lime.hostedConnect) await runDemo(origin, lime.hostedConnect);

if (flag("--once")) {
  await site.close();
  await server.stop(true);
  await lime.close();
} else {
  console.log(
    `[site] serving; open ${origin}/ and click "Connect your agent" (LIME's connect page takes it from there); Ctrl-C to stop`,
  );
  process.once("SIGINT", async () => {
    await site.close();
    await server.stop(true);
    await lime.close();
    process.exit(0);
  });
}
