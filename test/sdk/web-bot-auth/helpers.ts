/**
 * Web Bot Auth tests against a live server: agents with registered keys,
 * requests as `AgentClient.fetch` sends them (captured before they leave),
 * requests signed by hand with chosen parameters (the core's `signMessage`,
 * real keys, real signatures), and a site on loopback behind the guard.
 */

import { signMessage } from "@lime-ts/core/http-signatures";
import {
  AgentClient,
  type AgentKeyPair,
  type AgentRequestContext,
  generateAgentKey,
  type PassportGuardOptions,
  withAgentPassport,
} from "@lime-ts/sdk";
import type { Provisioned, TestServer } from "../helpers/server.ts";

export const SITE = "https://shop.test";

/** The key directory of `agentId` as the issuer serves it (and as `Signature-Agent` must name it). */
export function directoryUrl(server: TestServer, agentId: string): string {
  return `${server.url}/.well-known/http-message-signatures-directory/agents/${encodeURIComponent(agentId)}`;
}

/** An agent of `ids` with a fresh key of `kind`, registered (and its directory signed) unless `register: false`. */
export async function agentWithKey(
  server: TestServer,
  ids: Provisioned,
  options: { kind?: "Ed25519" | "P-256"; register?: boolean; fetch?: typeof fetch } = {},
): Promise<{ agent: AgentClient; key: AgentKeyPair }> {
  const key = await generateAgentKey(options.kind ?? "Ed25519", { extractable: true });
  const agent = new AgentClient({
    baseUrl: server.url,
    agentToken: ids.agentToken,
    signingKey: key,
    fetch: options.fetch,
  });
  if (options.register !== false) await agent.registerKey({ label: "test" });
  return { agent, key };
}

/**
 * A transport that hands calls to the LIME server through and keeps the
 * requests meant for `SITE` (answering them 200), so a test holds exactly
 * what `AgentClient.fetch` would have sent.
 */
export function siteCapture() {
  const sent: Request[] = [];
  return {
    sent,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      if (!request.url.startsWith(SITE)) return fetch(request);
      sent.push(request);
      return new Response("ok");
    }) as typeof fetch,
  };
}

/** The request `agent.fetch(url)` sends, captured. */
export async function capturedRequest(
  capture: ReturnType<typeof siteCapture>,
  agent: AgentClient,
  url = `${SITE}/orders?page=2`,
  init?: RequestInit,
): Promise<Request> {
  await agent.fetch(url, init);
  const request = capture.sent.at(-1);
  if (request === undefined) throw new Error("no request reached the site");
  return request;
}

export interface HandSigned {
  passport: string;
  key: AgentKeyPair;
  signatureAgent?: string | null;
  url?: string;
  components?: string[];
  created?: number;
  expires?: number;
  nonce?: string | null;
  tag?: string;
}

/** A request to the site signed by hand: any parameter of the signature chosen by the test. */
export async function handSigned(options: HandSigned): Promise<Request> {
  const now = Math.floor(Date.now() / 1000);
  const headers = new Headers({ authorization: `AgentPassport ${options.passport}` });
  if (options.signatureAgent !== null && options.signatureAgent !== undefined) {
    headers.set("signature-agent", `"${options.signatureAgent}"`);
  }
  const url = options.url ?? `${SITE}/orders`;
  const components =
    options.components ??
    (headers.has("signature-agent")
      ? ["@method", "@authority", "@path", "signature-agent", "authorization"]
      : ["@method", "@authority", "@path", "authorization"]);
  const created = options.created ?? now;
  const { signatureInput, signature } = await signMessage({ method: "GET", url, headers }, options.key, {
    components,
    created,
    expires: options.expires ?? created + 60,
    nonce: options.nonce === null ? undefined : (options.nonce ?? crypto.randomUUID()),
    tag: options.tag ?? "web-bot-auth",
  });
  headers.set("signature-input", signatureInput);
  headers.set("signature", signature);
  return new Request(url, { headers });
}

/** The code a guard call is refused with, or "accepted". */
export async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "accepted";
  } catch (error) {
    return String((error as { code?: unknown }).code ?? error);
  }
}

/** A site on loopback behind `withAgentPassport`; `handler` sees the verified request. */
export function startSite(
  server: TestServer,
  handler: (request: Request, agent: AgentRequestContext) => Response | Promise<Response>,
  options: Partial<PassportGuardOptions> = {},
) {
  let guarded: ((request: Request) => Promise<Response>) | undefined;
  const site = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => guarded!(request),
  });
  const origin = `http://127.0.0.1:${site.port}`;
  guarded = withAgentPassport({ issuer: server.url, audience: origin, ...options }, handler);
  return { origin, stop: () => site.stop(true) };
}
