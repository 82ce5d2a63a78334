/**
 * Where the examples find a LIME server.
 *
 * With `LIME_API_BASE` and `LIME_SITE_TOKEN` (and `LIME_AGENT_TOKEN` for the
 * demo agent) set, they use that server. Without them, under Bun, they boot
 * a throwaway one in-process (createApp on a free port with a temporary
 * SQLite database, the harness the SDK tests use), register an owner, an
 * agent and a site, and remove it all on exit, so each example runs with one
 * command and nothing else.
 */
export interface LimeEnv {
  baseUrl: string;
  siteToken: string;
  agentToken: string | undefined;
  /**
   * Throwaway server only: the hosted connect page's two actions, taken as
   * its registered owner through the service functions the page calls (the
   * page itself is not part of this repository's examples). Each returns
   * the URL LIME sends the browser back to.
   */
  hostedConnect?: {
    pickAgent(bindingId: string): Promise<string>;
    decline(bindingId: string): Promise<string>;
  };
  /** Stops the throwaway server, if one was started. */
  close(): Promise<void>;
}

export interface LimeEnvOptions {
  /** Throwaway server only: register this origin for the site (Agent Binding needs one). */
  siteOrigin?: string;
}

function env(name: string): string | undefined {
  const g = globalThis as {
    Deno?: { env: { get(key: string): string | undefined } };
    process?: { env: Record<string, string | undefined> };
  };
  return (g.Deno ? g.Deno.env.get(name) : g.process?.env[name]) || undefined;
}

export async function limeEnv(options: LimeEnvOptions = {}): Promise<LimeEnv> {
  const baseUrl = env("LIME_API_BASE");
  const siteToken = env("LIME_SITE_TOKEN");
  if (baseUrl && siteToken) {
    return { baseUrl, siteToken, agentToken: env("LIME_AGENT_TOKEN"), close: async () => {} };
  }
  if (!(globalThis as { Bun?: unknown }).Bun) {
    throw new Error(
      "set LIME_API_BASE and LIME_SITE_TOKEN (a throwaway LIME server can only be started under Bun)",
    );
  }
  const { startSdkTestServer } = await import("../../test/sdk/helpers/server.ts");
  // The seed's default difficulty (15), not the tests' lighter one.
  const server = await startSdkTestServer({ config: { defaultPowDifficulty: 15 } });
  const ids = await server.provision();
  console.log(`[lime] throwaway LIME server at ${server.url} (temporary database, removed on exit)`);
  const bindings = await import("../../test/support/bindings.ts");
  if (options.siteOrigin !== undefined) await bindings.setSiteOrigin(server, ids, options.siteOrigin);
  return {
    baseUrl: server.url,
    siteToken: ids.siteToken,
    agentToken: ids.agentToken,
    hostedConnect: {
      pickAgent: async (bindingId) => (await bindings.pickAgent(server, bindingId, ids)).redirectUrl,
      decline: async (bindingId) => (await bindings.decline(server, bindingId, ids)).redirectUrl,
    },
    close: () => server.stop(),
  };
}

export function flag(name: string): boolean {
  const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
  const args = g.Deno ? g.Deno.args : (g.process?.argv.slice(2) ?? []);
  return args.includes(name);
}
