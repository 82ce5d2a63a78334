/**
 * A bench server in its own process, so the load generator does not share an
 * event loop with it. Prints one JSON line with its URL and two provisioned
 * sites (one per PoW difficulty) and an agent, then serves until stdin closes,
 * answering each line on stdin with one number:
 * - an empty line: its CPU time so far, in microseconds;
 * - `sign N`: the CPU time of one RSA-2048 signature in this process, in
 *   microseconds (N signatures in a row, as the server makes one per login),
 *   so a flow's server CPU is compared with a signature measured where the
 *   flows run;
 * - `threads`: its CPU time so far by kind of thread, in microseconds, as
 *   JSON (`main`, `pool` where WebCrypto signs, `jit`, `other`), from
 *   /proc/self/task (Linux; `{}` elsewhere), so the bench shows where a
 *   flow's time goes.
 *
 * It adds a bare JSON route to the LIME app (`/bench/bare`: the same
 * transport, request ids, metrics and hooks as every route), which the JWKS
 * rate is compared with, and serves a bare Elysia app behind the same HTTP
 * transport alone (`floorUrl`): what a JSON GET costs with no LIME pipeline.
 * Both exist only in this bench process.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Elysia } from "elysia";
import { systemClock } from "../../server/clock.ts";
import { listenHttp } from "../../server/http/transport.ts";
import { startTestServer } from "../../server/testing.ts";
import { ownCpuMicros, rsaSigner } from "./flows.ts";

const realisticDifficulty = Number(process.argv[2] ?? 15);
const server = await startTestServer({ clock: systemClock, config: { adminToken: "bench-admin-token" } });
// Before the first request, while Elysia still takes routes: a bare JSON route inside the LIME app,
// behind the same transport, request ids, metrics and hooks as every product route.
server.server.app.get("/bench/bare", () => ({ ok: true, data: { status: "ok" } }));
// The same, answering the JWKS's own JSON (as it stood at start): the bytes without the preparation.
const { keys } = server.server.context.keyRing.jwks().document;
const sameDocument = { keys, ok: true, data: { keys } };
server.server.app.get("/bench/bare-jwks", () => sameDocument);
const realistic = await server.provision({ powDifficulty: realisticDifficulty });
const trivial = await server.provision({ powDifficulty: 1 });
const bare = new Elysia().get("/bare", () => ({ ok: true, data: { status: "ok" } }));
const bareTransport = await listenHttp((request) => bare.handle(request), {
  port: 0,
  hostname: "127.0.0.1",
  headersTimeoutMs: server.config.http.headersTimeoutMs,
  requestTimeoutMs: server.config.http.requestTimeoutMs,
  keepAliveTimeoutMs: server.config.http.keepAliveTimeoutMs,
  maxHeaderBytes: server.config.http.maxHeaderBytes,
  logger: server.server.context.logger,
});
const sign = await rsaSigner();
console.log(
  JSON.stringify({
    url: server.url,
    floorUrl: `http://127.0.0.1:${bareTransport.port}/bare`,
    agentToken: realistic.agentToken,
    sites: [
      { difficulty: realisticDifficulty, siteToken: realistic.siteToken },
      { difficulty: 1, siteToken: trivial.siteToken },
    ],
    trivialAgentToken: trivial.agentToken,
  }),
);

async function signingMicros(count: number): Promise<number> {
  const before = ownCpuMicros();
  for (let i = 0; i < count; i++) await sign();
  return (ownCpuMicros() - before) / count;
}

/** The kind of a thread by its name: Bun's pool runs WebCrypto's signatures, JSC's workers compile. */
function threadKind(name: string): string {
  if (name.startsWith("Bun Pool")) return "pool";
  if (name.startsWith("JIT")) return "jit";
  return "other";
}

/** CPU time (user + system) by kind of thread, in microseconds; the process's first thread is `main`. */
function threadMicros(): Record<string, number> {
  const byKind: Record<string, number> = {};
  let tasks: string[];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return byKind;
  }
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux Bun runs on
  for (const task of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const micros = ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
    const kind = task === String(process.pid) ? "main" : threadKind(name);
    byKind[kind] = (byKind[kind] ?? 0) + micros;
  }
  return byKind;
}

// Lines are answered one at a time, in order; the loop ends when the parent closes stdin or exits.
let pending = "";
for await (const chunk of process.stdin) {
  pending += String(chunk);
  let end = pending.indexOf("\n");
  while (end >= 0) {
    const line = pending.slice(0, end).trim();
    pending = pending.slice(end + 1);
    const signing = /^sign (\d+)$/.exec(line);
    if (line === "threads") console.log(JSON.stringify(threadMicros()));
    else console.log(signing ? await signingMicros(Number(signing[1])) : ownCpuMicros());
    end = pending.indexOf("\n");
  }
}
await bareTransport.close();
await server.stop();
process.exit(0);
