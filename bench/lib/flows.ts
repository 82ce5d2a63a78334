/**
 * The login flow as a bench drives it over HTTP, and the loops that time it:
 * shared by the server section (bench/server.ts) and the storage backends
 * section (bench/backends.ts).
 *
 * A flow is LIME's agent login end to end: the site creates a login request,
 * the agent fetches its challenge, solves the proof of work, approves, and
 * the outcome arrives on the site's Server-Sent Events stream.
 */
import { solve } from "@lime-ts/core";

const LOGIN_REQUESTS = "/api/v1/modules/agent-login/requests";
export const EVENTS_PATH = "/api/v1/modules/agent-login/events";

export async function expectOk(response: Response, what: string): Promise<Record<string, unknown>> {
  const body = (await response.json()) as { ok: boolean; data?: Record<string, unknown>; error?: unknown };
  if (!body.ok) throw new Error(`${what} failed: ${JSON.stringify(body.error)}`);
  return body.data!;
}

/** One SSE consumer for a site; resolves the waiter of each approved request as its event arrives. */
export function openSiteStream(url: string, siteToken: string) {
  const waiters = new Map<string, () => void>();
  const controller = new AbortController();
  const ready = (async () => {
    const response = await fetch(`${url}${EVENTS_PATH}`, {
      headers: { "x-site-token": siteToken, accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (!response.ok || !response.body) throw new Error(`event stream refused: ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    (async () => {
      let pending = "";
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        pending += value;
        let end = pending.indexOf("\n");
        while (end >= 0) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 1);
          if (line.startsWith("data:")) {
            const event = JSON.parse(line.slice(5)) as { type: string; login_request_id?: string };
            if (event.type === "approved" && event.login_request_id) {
              waiters.get(event.login_request_id)?.();
              waiters.delete(event.login_request_id);
            }
          }
          end = pending.indexOf("\n");
        }
      }
    })();
  })();
  return {
    ready,
    delivered: (requestId: string) => new Promise<void>((resolve) => waiters.set(requestId, resolve)),
    close: () => controller.abort(),
  };
}

export type SiteStream = ReturnType<typeof openSiteStream>;

/** The site's half of the flow's start: a new login request; returns its id. */
export async function createLoginRequest(url: string, siteToken: string): Promise<string> {
  const created = await expectOk(
    await fetch(`${url}${LOGIN_REQUESTS}`, {
      method: "POST",
      headers: { "x-site-token": siteToken, "content-type": "application/json" },
      body: "{}",
    }),
    "create",
  );
  return created.login_request_id as string;
}

/**
 * The agent's half: fetch the challenge, solve it, approve. Resolves with
 * when the approval was sent (`performance.now()`, the work already solved),
 * where a delivery's latency starts.
 */
export async function solveAndApprove(url: string, requestId: string, agentToken: string): Promise<number> {
  const challenge = await expectOk(await fetch(`${url}/api/v1/auth/requests/${requestId}`), "challenge");
  const { nonce } = await solve(challenge.pow_challenge as string, challenge.pow_difficulty as number);
  const sent = performance.now();
  await expectOk(
    await fetch(`${url}${LOGIN_REQUESTS}/${requestId}/approve`, {
      method: "POST",
      headers: { "x-agent-token": agentToken, "content-type": "application/json" },
      body: JSON.stringify({ pow_nonce: nonce }),
    }),
    "approve",
  );
  return sent;
}

/**
 * One complete flow: create → challenge → solve → approve → the outcome on
 * `stream`. `agentUrl` is where the agent's requests go (the site's own
 * server by default; a balancer in front of a fleet, say).
 */
export async function loginFlow(
  url: string,
  siteToken: string,
  agentToken: string,
  stream: SiteStream,
  agentUrl = url,
): Promise<void> {
  const requestId = await createLoginRequest(url, siteToken);
  const delivered = stream.delivered(requestId);
  await solveAndApprove(agentUrl, requestId, agentToken);
  await delivered;
}

export interface Completions {
  completed: number;
  elapsedMs: number;
}

/** Runs `task` with `concurrency` loops until `durationMs` passes; counts the completions. */
export async function complete(
  durationMs: number,
  concurrency: number,
  task: (loop: number) => Promise<void>,
): Promise<Completions> {
  let completed = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < deadline) {
        await task(loop);
        completed++;
      }
    }),
  );
  return { completed, elapsedMs: performance.now() - started };
}

/** Runs `task` with `concurrency` loops until `durationMs` passes; returns completions per second. */
export async function rate(
  durationMs: number,
  concurrency: number,
  task: () => Promise<void>,
): Promise<number> {
  const { completed, elapsedMs } = await complete(durationMs, concurrency, task);
  return completed / (elapsedMs / 1000);
}

/** This process's CPU time so far (user and system), in microseconds. */
export function ownCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** An RSA-2048 signature over a passport-sized input with a fresh key, as the server makes one per login. */
export async function rsaSigner(): Promise<() => Promise<void>> {
  const { privateKey } = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    false,
    ["sign", "verify"],
  );
  const input = new TextEncoder().encode("x".repeat(700));
  return async () => {
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", privateKey, input);
  };
}

export interface Owner {
  siteTokens: string[];
  agentTokens: string[];
}

/**
 * Registers an owner through the public API and gives it `sites` sites and
 * `agents` agents. Needs EMAIL_VERIFICATION=off; costs two password hashes.
 */
export async function provisionOwner(
  url: string,
  { sites = 1, agents = 1, powDifficulty }: { sites?: number; agents?: number; powDifficulty: number },
): Promise<Owner> {
  const post = async (path: string, json: unknown, headers: Record<string, string> = {}) =>
    expectOk(
      await fetch(`${url}${path}`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(json),
      }),
      path,
    );
  const email = `bench-${crypto.randomUUID()}@example.test`;
  const password = "correct horse battery staple";
  await post("/api/v1/foundation/users/register", { email, password });
  const session = await post("/api/v1/foundation/users/login", { email, password });
  const auth = { authorization: `Bearer ${session.session_token as string}` };
  const siteTokens: string[] = [];
  for (let i = 0; i < sites; i++) {
    const site = await post(
      "/api/v1/foundation/sites/register",
      { display_name: `Bench shop ${i}`, pow_difficulty: powDifficulty },
      auth,
    );
    siteTokens.push(site.site_token as string);
  }
  const agentTokens: string[] = [];
  for (let i = 0; i < agents; i++) {
    const agent = await post("/api/v1/core/agents/register", { display_name: `Bench agent ${i}` }, auth);
    agentTokens.push(agent.agent_token as string);
  }
  return { siteTokens, agentTokens };
}
