/**
 * Server bench (issue 3): full login flows per second (create → challenge →
 * solve → approve → SSE delivery) and JWKS requests per second, driven over
 * loopback by a load generator in this process against a server in a child
 * process, reported beside the bare RSA-2048 signing rate measured in the
 * same run: signing one passport per login is the ceiling for issuing them.
 *
 * Run alone: `bun bench/server.ts [--short]`.
 */
import { solve } from "../core/index.ts";
import type { BenchOptions, BenchSection } from "./lib/types.ts";

interface BenchTarget {
  url: string;
  agentToken: string;
  trivialAgentToken: string;
  sites: { difficulty: number; siteToken: string }[];
}

async function startServerProcess(): Promise<{ target: BenchTarget; stop: () => Promise<void> }> {
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/lib/server-process.ts`, "15"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let buffered = "";
  while (!buffered.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the bench server exited before it was ready");
    buffered += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const target = JSON.parse(buffered.slice(0, buffered.indexOf("\n"))) as BenchTarget;
  return {
    target,
    stop: async () => {
      child.stdin.end();
      child.kill();
      await child.exited;
    },
  };
}

/** One SSE consumer for a site; resolves the waiter of each approved request as its event arrives. */
function openSiteStream(url: string, siteToken: string) {
  const waiters = new Map<string, () => void>();
  const controller = new AbortController();
  const ready = (async () => {
    const response = await fetch(`${url}/api/v1/modules/agent-login/events`, {
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

async function expectOk(response: Response, what: string): Promise<Record<string, unknown>> {
  const body = (await response.json()) as { ok: boolean; data?: Record<string, unknown>; error?: unknown };
  if (!body.ok) throw new Error(`${what} failed: ${JSON.stringify(body.error)}`);
  return body.data!;
}

async function loginFlow(
  url: string,
  siteToken: string,
  agentToken: string,
  stream: ReturnType<typeof openSiteStream>,
) {
  const created = await expectOk(
    await fetch(`${url}/api/v1/modules/agent-login/requests`, {
      method: "POST",
      headers: { "x-site-token": siteToken, "content-type": "application/json" },
      body: "{}",
    }),
    "create",
  );
  const requestId = created.login_request_id as string;
  const delivered = stream.delivered(requestId);
  const challenge = await expectOk(await fetch(`${url}/api/v1/auth/requests/${requestId}`), "challenge");
  const { nonce } = await solve(challenge.pow_challenge as string, challenge.pow_difficulty as number);
  await expectOk(
    await fetch(`${url}/api/v1/modules/agent-login/requests/${requestId}/approve`, {
      method: "POST",
      headers: { "x-agent-token": agentToken, "content-type": "application/json" },
      body: JSON.stringify({ pow_nonce: nonce }),
    }),
    "approve",
  );
  await delivered;
}

/** Runs `task` with `concurrency` loops until `durationMs` passes; returns completions per second. */
async function rate(durationMs: number, concurrency: number, task: () => Promise<void>): Promise<number> {
  let completed = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await task();
        completed++;
      }
    }),
  );
  return completed / ((performance.now() - started) / 1000);
}

async function rsaSigningRate(durationMs: number): Promise<number> {
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
  return rate(durationMs, 2, async () => {
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", privateKey, input);
  });
}

export async function runServerBench(opts: BenchOptions): Promise<BenchSection> {
  const durationMs = opts.short ? 2_000 : 8_000;
  const { target, stop } = await startServerProcess();
  try {
    const [realistic, trivial] = target.sites as [BenchTarget["sites"][0], BenchTarget["sites"][0]];
    const streams = [
      openSiteStream(target.url, realistic.siteToken),
      openSiteStream(target.url, trivial.siteToken),
    ];
    await Promise.all(streams.map((s) => s.ready));
    // Warm both paths (JIT, key import, SQLite page cache) before measuring.
    await loginFlow(target.url, trivial.siteToken, target.trivialAgentToken, streams[1]!);

    const signingPerSecond = await rsaSigningRate(durationMs / 2);
    const flowsTrivial = await rate(durationMs, 4, () =>
      loginFlow(target.url, trivial.siteToken, target.trivialAgentToken, streams[1]!),
    );
    const flowsRealistic = await rate(durationMs, 2, () =>
      loginFlow(target.url, realistic.siteToken, target.agentToken, streams[0]!),
    );
    const jwksPerSecond = await rate(durationMs / 2, 16, async () => {
      const response = await fetch(`${target.url}/.well-known/jwks.json`);
      await response.arrayBuffer();
    });
    for (const stream of streams) stream.close();

    const issuanceShare = flowsTrivial / signingPerSecond;
    return {
      name: "server",
      runtime: `bun ${Bun.version}`,
      rows: [
        { label: "RSA-2048 signing (WebCrypto, 2 loops)", value: signingPerSecond, unit: "signatures/s" },
        { label: "login flows, difficulty 1", value: flowsTrivial, unit: "flows/s", note: "4 concurrent" },
        { label: "login flows, difficulty 15", value: flowsRealistic, unit: "flows/s", note: "2 concurrent" },
        { label: "JWKS requests", value: jwksPerSecond, unit: "req/s", note: "16 concurrent" },
        { label: "flows (d=1) / signing ceiling", value: issuanceShare, unit: "ratio" },
      ],
      gates: [
        // Each flow is five HTTP exchanges, three SQLite writes and one RSA signature
        // on a 2-core machine shared with the load generator; a tenth of the bare
        // signing rate is the floor below which the server, not RSA, is the bottleneck.
        {
          name: "login flows (d=1) / RSA signing rate",
          actual: issuanceShare,
          min: 0.1,
          unit: "ratio",
          inShortMode: true,
        },
        {
          name: "JWKS requests per second",
          actual: jwksPerSecond,
          min: 2_000,
          unit: "req/s",
          inShortMode: false,
        },
      ],
    };
  } finally {
    await stop();
  }
}

if (import.meta.main) {
  const { formatSection } = await import("./lib/table.ts");
  const section = await runServerBench({ short: process.argv.includes("--short") });
  console.log(formatSection(section, () => true));
}
