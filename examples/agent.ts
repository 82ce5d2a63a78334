/**
 * An agent logging into a site that runs one of the example sites
 * (elysia-site.ts, fetch-site.ts), then calling its protected API.
 *
 *   LIME_API_BASE=... LIME_AGENT_TOKEN=... bun examples/agent.ts http://127.0.0.1:<site-port>
 *
 * (For a login request id you got some other way, the CLI does it:
 * `bun sdk/cli.ts login <request-id>`.)
 */
import { runDemoAgent } from "./lib/demo-agent.ts";

const siteUrl = process.argv[2];
const baseUrl = process.env.LIME_API_BASE;
const agentToken = process.env.LIME_AGENT_TOKEN;
if (!siteUrl || !baseUrl || !agentToken) {
  console.error("usage: LIME_API_BASE=... LIME_AGENT_TOKEN=... bun examples/agent.ts <site-url>");
  process.exit(2);
}
await runDemoAgent(siteUrl.replace(/\/+$/, ""), baseUrl, agentToken);
