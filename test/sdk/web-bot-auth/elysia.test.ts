/**
 * The Elysia plugin on the Web Bot Auth path, live: a key-bound agent's
 * `fetch` reaches the route with the verified signature on the context; the
 * same passport without its signature is answered 401 before the handler;
 * `requireSignature` refuses an unbound passport.
 */
import { afterEach, expect, test } from "bun:test";
import { AgentClient } from "@lime-ts/sdk";
import { agentPassport } from "@lime-ts/sdk/elysia";
import { Elysia } from "elysia";
import { serverForFile } from "../helpers/server-for-file.ts";
import { agentWithKey } from "./helpers.ts";

const lime = serverForFile();
const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** An Elysia site on loopback: `/me` behind the plugin, answering what it verified. */
function elysiaSite(options: { requireSignature?: boolean } = {}) {
  let handle: ((request: Request) => Promise<Response>) | undefined;
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handle!(request) });
  const origin = `http://127.0.0.1:${server.port}`;
  const app = new Elysia()
    .use(agentPassport({ issuer: lime.server.url, audience: origin, ...options }))
    .get("/me", ({ passport }) => ({ agent: passport.agentId, keyId: passport.signature?.keyId ?? null }));
  handle = (request) => app.handle(request);
  stops.push(() => server.stop(true));
  return origin;
}

test("agentPassport: a signed request reaches the route with passport.signature; unsigned with a bound passport is 401", async () => {
  const origin = elysiaSite();
  const { agent, key } = await agentWithKey(lime.server, lime.ids);
  const ok = await agent.fetch(`${origin}/me`);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ agent: lime.ids.agentId, keyId: key.kid });

  const bound = await agent.passport({ audience: origin });
  const bare = await fetch(`${origin}/me`, { headers: { authorization: `AgentPassport ${bound}` } });
  expect(bare.status).toBe(401);
  expect(bare.headers.get("www-authenticate")).toContain('error_description="SIGNATURE_MISSING"');
  expect(await bare.json()).toMatchObject({ ok: false, error: { code: "SIGNATURE_MISSING" } });
});

test("agentPassport({ requireSignature: true }) refuses LIME's unbound, unsigned passports", async () => {
  const strict = elysiaSite({ requireSignature: true });
  const plain = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
  const refused = await plain.fetch(`${strict}/me`);
  expect(refused.status).toBe(401);
  expect(await refused.json()).toMatchObject({ error: { code: "SIGNATURE_MISSING" } });
  const lenient = elysiaSite();
  expect((await plain.fetch(`${lenient}/me`)).status).toBe(200);
});
