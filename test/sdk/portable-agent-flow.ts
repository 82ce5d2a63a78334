/**
 * The agent login flow through the public SDK entry, runnable unchanged in
 * Node (bundled), Deno (source) and a browser page (bundled), against a
 * real LIME server. Prints `portable-agent-flow <runtime>: N passed, N failed`,
 * sets the exit status, and in a page leaves the report on
 * `globalThis.__portableReport`.
 *
 * Configuration, from the environment (Node, Deno) or the page's query string:
 *   LIME_API_BASE    / ?base=    the server's API base URL (required)
 *   LIME_SITE_TOKEN  / ?site=    a site token (required)
 *   LIME_AGENT_TOKEN / ?agent=   an agent token (required)
 *   LIME_ISSUER      / ?issuer=  the passports' `iss` (default: the base URL)
 *   LIME_JWKS_URL    / ?jwks=    the JWKS URL (default: <issuer>/.well-known/jwks.json)
 *   LIME_REVOCATIONS_URL / ?revocations=  the revocation list (default: <issuer>/api/v1/core/revocations)
 * A page served from another origin than the server needs `base`, `jwks` and `revocations`
 * pointing at a same-origin proxy (the server sends no CORS headers), with
 * `issuer` naming the server itself.
 */
import { parseSignatures, verifyParsedSignature } from "../../core/http-signatures/index.ts";
import {
  AgentClient,
  generateAgentKey,
  type LoginOutcome,
  PassportVerifier,
  SITE_LOGIN_AUDIENCE,
  SiteClient,
} from "../../sdk/index.ts";
import {
  assert,
  assertEqual,
  type PortableCase,
  rejectsWithCode,
  runAndReport,
} from "../portable/harness.ts";

declare const Deno: { exit(code: number): never; env: { get(name: string): string | undefined } } | undefined;

interface FlowConfig {
  base: string;
  siteToken: string;
  agentToken: string;
  issuer: string;
  jwksUrl: string | undefined;
  revocationsUrl: string | undefined;
}

function setting(envName: string, queryName: string): string | undefined {
  const g = globalThis as {
    location?: { search?: string };
    process?: { env?: Record<string, string | undefined> };
  };
  if (typeof Deno !== "undefined") return Deno.env.get(envName) || undefined;
  if (g.process?.env) return g.process.env[envName] || undefined;
  if (g.location?.search !== undefined)
    return new URLSearchParams(g.location.search).get(queryName) ?? undefined;
  return undefined;
}

function readConfig(): FlowConfig {
  const base = setting("LIME_API_BASE", "base");
  const siteToken = setting("LIME_SITE_TOKEN", "site");
  const agentToken = setting("LIME_AGENT_TOKEN", "agent");
  if (!base || !siteToken || !agentToken) {
    throw new Error(
      "portable-agent-flow needs LIME_API_BASE, LIME_SITE_TOKEN and LIME_AGENT_TOKEN (or ?base=&site=&agent=)",
    );
  }
  return {
    base,
    siteToken,
    agentToken,
    issuer: setting("LIME_ISSUER", "issuer") ?? base,
    jwksUrl: setting("LIME_JWKS_URL", "jwks"),
    revocationsUrl: setting("LIME_REVOCATIONS_URL", "revocations"),
  };
}

function flowCases(config: FlowConfig): PortableCase[] {
  const site = () =>
    new SiteClient({
      baseUrl: config.base,
      siteToken: config.siteToken,
      issuer: config.issuer,
      jwksUrl: config.jwksUrl,
      revocation: { url: config.revocationsUrl },
      events: { pollIntervalMs: 500 },
    });
  const agent = () => new AgentClient({ baseUrl: config.base, agentToken: config.agentToken });

  return [
    {
      name: "createLoginRequest -> AgentClient.login -> waitForLogin yields the verified PassportContext",
      async run() {
        const s = site();
        try {
          const created = await s.createLoginRequest();
          assertEqual(created.status, "PENDING", "new request status");
          const waiting = s.waitForLogin(created.requestId, { timeout: 30_000 });
          const approval = await agent().login(created.requestId);
          const passport = await waiting;
          assertEqual(passport.requestId, created.requestId, "passport request_id");
          assertEqual(passport.agentId, approval.approvedAgentId, "passport sub");
          assertEqual(passport.siteId, approval.siteId, "passport site_id");
          assertEqual(passport.issuer, config.issuer, "passport iss");
          assertEqual(passport.audience.join(), SITE_LOGIN_AUDIENCE, "passport aud");
          assert(passport.expiresAt - passport.issuedAt <= 120, "a login passport lives at most 120 s");
        } finally {
          await s.close();
        }
      },
    },
    {
      name: "onLogin receives the approval from the event stream",
      async run() {
        const s = site();
        const outcomes: LoginOutcome[] = [];
        const subscription = s.onLogin((outcome) => {
          outcomes.push(outcome);
        });
        try {
          const created = await s.createLoginRequest();
          await agent().login(created.requestId);
          const deadline = Date.now() + 30_000;
          while (!outcomes.some((o) => o.requestId === created.requestId) && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          const outcome = outcomes.find((o) => o.requestId === created.requestId);
          assertEqual(outcome?.type, "approved", "outcome type");
        } finally {
          await subscription.stop();
        }
      },
    },
    {
      name: "profile() answers for the agent token",
      async run() {
        const profile = await agent().profile();
        assert(profile.agentId.length > 0, "profile has an agent id");
        assert(Number.isInteger(profile.ownerKycLevel), "profile has a KYC level");
      },
    },
    {
      name: "a self-service passport verifies locally against the issuer's JWKS",
      async run() {
        const a = agent();
        const token = await a.passport({ audience: "https://portable.example" });
        assertEqual(await a.passport({ audience: "https://portable.example" }), token, "cached passport");
        const verifier = new PassportVerifier({
          issuer: config.issuer,
          jwksUrl: config.jwksUrl,
          revocation: { url: config.revocationsUrl },
          audience: "https://portable.example",
        });
        const passport = await verifier.verify(token);
        assertEqual(passport.agentId, (await a.profile()).agentId, "passport sub");
        await rejectsWithCode(
          () => verifier.verify(token, { audience: "https://elsewhere.example" }),
          "PASSPORT_WRONG_AUDIENCE",
          "foreign audience",
        );
        assertEqual(verifier.jwks.stats.requests, 1, "JWKS requests");
        // The revocation list was read, not skipped: a list that cannot be fetched fails open, silently.
        assertEqual(verifier.revocations?.stats.failures, 0, "revocation list fetch failures");
        assert((verifier.revocations?.stats.requests ?? 0) >= 1, "the revocation list was fetched");
      },
    },
    {
      name: "with an Ed25519 signing key: registered, passports bound, every fetch signed (Web Bot Auth)",
      async run() {
        const key = await generateAgentKey();
        const sent: Request[] = [];
        const signer = new AgentClient({
          baseUrl: config.base,
          agentToken: config.agentToken,
          issuer: config.issuer,
          signingKey: key,
          fetch: (input, init) => {
            const request = new Request(input, init);
            if (!request.url.startsWith("https://portable.example/")) return fetch(request);
            sent.push(request);
            return Promise.resolve(new Response("ok"));
          },
        });
        assertEqual((await signer.registerKey()).kid, key.kid, "registered kid");
        try {
          await signer.fetch("https://portable.example/orders?page=2");
          const [signature] = parseSignatures(sent[0]!, { tag: "web-bot-auth" });
          assertEqual(signature?.params.keyid, key.kid, "keyid");
          assert(await verifyParsedSignature(signature!, key.publicJwk), "the request signature verifies");
          const passport = await new PassportVerifier({
            issuer: config.issuer,
            jwksUrl: config.jwksUrl,
            revocation: { url: config.revocationsUrl },
            audience: "https://portable.example",
          }).verify(sent[0]!.headers.get("authorization")!.split(" ")[1]!);
          assertEqual(passport.boundKeyThumbprint, key.kid, "passport cnf.jkt");
        } finally {
          // Each runtime registers its own key; revoking keeps the agent under its limit of active keys.
          await signer.revokeKey(key.kid);
        }
      },
    },
    {
      name: "a server rejection is a typed LimeApiError",
      async run() {
        const stranger = new AgentClient({ baseUrl: config.base, agentToken: "lime_agent_not-a-real-token" });
        await rejectsWithCode(() => stranger.profile(), "INVALID_AGENT_TOKEN", "unknown agent token");
      },
    },
  ];
}

let cases: PortableCase[];
try {
  cases = flowCases(readConfig());
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  cases = [
    {
      name: "configuration",
      run: () => {
        throw new Error(message);
      },
    },
  ];
}
await runAndReport("portable-agent-flow", cases);
