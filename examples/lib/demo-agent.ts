/**
 * The agent side of the site examples: log into the site headlessly, then
 * call its protected API with a passport. Every example site exposes
 *   POST /login          -> { requestId }          (the site creates a LIME login request)
 *   GET  /login/:id      -> the verified agent      (the site waits for the approval)
 *   GET  /api/whoami     -> the passport's agent    (needs Authorization: AgentPassport)
 * and then does it again with a signing key (Web Bot Auth, docs/web-bot-auth.md): the passport is
 * bound to the key and the request signed; the same passport without its signature is refused.
 */
import { AgentClient, generateAgentKey } from "@lime-ts/sdk";

export async function runDemoAgent(siteUrl: string, limeBaseUrl: string, agentToken: string): Promise<void> {
  const agent = new AgentClient({ baseUrl: limeBaseUrl, agentToken });

  const started = await fetch(`${siteUrl}/login`, { method: "POST" });
  const { requestId } = (await started.json()) as { requestId: string };
  console.log(`[agent] the site opened login request ${requestId}`);

  const finished = fetch(`${siteUrl}/login/${requestId}`).then((r) => r.json());
  const approval = await agent.login(requestId);
  console.log(
    `[agent] solved difficulty ${approval.pow.difficulty} in ${approval.pow.solveMs.toFixed(1)} ms and approved`,
  );
  console.log("[agent] the site says:", await finished);

  const whoami = await agent.fetch(`${siteUrl}/api/whoami`);
  console.log(`[agent] GET /api/whoami with a passport -> ${whoami.status}`, await whoami.json());
  const anonymous = await fetch(`${siteUrl}/api/whoami`);
  console.log(
    `[agent] GET /api/whoami without one -> ${anonymous.status}, WWW-Authenticate: ${anonymous.headers.get("www-authenticate")}`,
  );

  const signingKey = await generateAgentKey();
  const signer = new AgentClient({ baseUrl: limeBaseUrl, agentToken, signingKey });
  await signer.registerKey({ label: "demo" });
  try {
    const signed = await signer.fetch(`${siteUrl}/api/whoami`);
    await signed.body?.cancel();
    console.log(`[agent] GET /api/whoami signed with key ${signingKey.kid} -> ${signed.status}`);
    const passport = await signer.passport({ audience: siteUrl });
    const unsigned = await fetch(`${siteUrl}/api/whoami`, {
      headers: { authorization: `AgentPassport ${passport}` },
    });
    const { error } = (await unsigned.json()) as { error: { code: string } };
    console.log(`[agent] its key-bound passport without the signature -> ${unsigned.status} ${error.code}`);
  } finally {
    await signer.revokeKey(signingKey.kid); // a demo key: leave none behind
  }
}
