/**
 * Server bench (issue 3): full login flows per second (create → challenge →
 * solve → approve → SSE delivery) and JWKS requests per second, driven over
 * loopback by a load generator in this process against a server in a child
 * process, reported beside the bare RSA-2048 signing rate measured in the
 * same run: signing one passport per login is the ceiling for issuing them.
 * The signing rate and the difficulty-1 flow rate, the two sides of the
 * gated ratio, are measured in interleaved slices and each keeps its best
 * (bench/lib/rounds.ts), so a neighbour busy during one slice cannot sink it;
 * the gate compares them per CPU-second (both processes' CPU time for the
 * flows), which a neighbour's load does not move.
 *
 * Run alone: `bun bench/server.ts [--short]`.
 */
import { complete, loginFlow, openSiteStream, ownCpuMicros, rate, rsaSigner } from "./lib/flows.ts";
import { bestRate, interleavedRounds } from "./lib/rounds.ts";
import type { BenchOptions, BenchSection } from "./lib/types.ts";

interface BenchTarget {
  url: string;
  agentToken: string;
  trivialAgentToken: string;
  sites: { difficulty: number; siteToken: string }[];
}

interface ServerProcess {
  target: BenchTarget;
  /** The server process's CPU time so far, in microseconds. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

async function startServerProcess(): Promise<ServerProcess> {
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/lib/server-process.ts`, "15"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const nextLine = async () => {
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the bench server exited");
      buffered += decoder.decode(value, { stream: true });
    }
    const line = buffered.slice(0, buffered.indexOf("\n"));
    buffered = buffered.slice(line.length + 1);
    return line;
  };
  const target = JSON.parse(await nextLine()) as BenchTarget;
  return {
    target,
    cpuMicros: async () => {
      child.stdin.write("\n");
      child.stdin.flush();
      return Number(await nextLine());
    },
    stop: async () => {
      reader.releaseLock();
      child.stdin.end();
      child.kill();
      await child.exited;
    },
  };
}

interface SliceRates {
  perSecond: number;
  /**
   * Completions per CPU-second of this process (and the server process, when
   * it does the work too). Unlike a rate per wall-clock second it does not
   * grow with the cores a neighbour leaves free: it is the code's cost, not
   * the machine's load.
   */
  perCpuSecond: number;
}

/** Runs `task` as `rate` does and returns both rates; `server` when the server process works for it too. */
async function slice(
  durationMs: number,
  concurrency: number,
  task: () => Promise<void>,
  server?: ServerProcess,
): Promise<SliceRates> {
  const cpu = async () => ownCpuMicros() + (server ? await server.cpuMicros() : 0);
  const before = await cpu();
  const { completed, elapsedMs } = await complete(durationMs, concurrency, task);
  const cpuSeconds = ((await cpu()) - before) / 1e6;
  return { perSecond: completed / (elapsedMs / 1000), perCpuSecond: completed / cpuSeconds };
}

export async function runServerBench(opts: BenchOptions): Promise<BenchSection> {
  const durationMs = opts.short ? 2_000 : 8_000;
  const slices = opts.short ? 6 : 8;
  const server = await startServerProcess();
  const { target } = server;
  try {
    const [realistic, trivial] = target.sites as [BenchTarget["sites"][0], BenchTarget["sites"][0]];
    const streams = [
      openSiteStream(target.url, realistic.siteToken),
      openSiteStream(target.url, trivial.siteToken),
    ];
    await Promise.all(streams.map((s) => s.ready));
    const trivialFlow = () => loginFlow(target.url, trivial.siteToken, target.trivialAgentToken, streams[1]!);
    // Warm both paths (JIT, key import, SQLite page cache) before measuring.
    await trivialFlow();
    const sign = await rsaSigner();

    const sliced = await interleavedRounds(slices, {
      signing: () => slice(durationMs / 2 / slices, 1, sign),
      flowsTrivial: () => slice(durationMs / slices, 4, trivialFlow, server),
    });
    const best = (results: SliceRates[], rate: keyof SliceRates) => bestRate(results.map((r) => r[rate]));
    const signingPerSecond = best(sliced.signing, "perSecond");
    const flowsTrivial = best(sliced.flowsTrivial, "perSecond");
    const signingPerCpuSecond = best(sliced.signing, "perCpuSecond");
    const flowsPerCpuSecond = best(sliced.flowsTrivial, "perCpuSecond");
    const flowsRealistic = await rate(durationMs, 2, () =>
      loginFlow(target.url, realistic.siteToken, target.agentToken, streams[0]!),
    );
    const jwksPerSecond = await rate(durationMs / 2, 16, async () => {
      const response = await fetch(`${target.url}/.well-known/jwks.json`);
      await response.arrayBuffer();
    });
    for (const stream of streams) stream.close();

    const issuanceShare = flowsTrivial / signingPerSecond;
    const issuanceCpuShare = flowsPerCpuSecond / signingPerCpuSecond;
    return {
      name: "server",
      runtime: `bun ${Bun.version}`,
      rows: [
        {
          label: "RSA-2048 signing (WebCrypto, 1 loop)",
          value: signingPerSecond,
          unit: "signatures/s",
          note: `best of ${slices} slices`,
        },
        {
          label: "login flows, difficulty 1",
          value: flowsTrivial,
          unit: "flows/s",
          note: `4 concurrent, best of ${slices} slices`,
        },
        { label: "login flows, difficulty 15", value: flowsRealistic, unit: "flows/s", note: "2 concurrent" },
        { label: "JWKS requests", value: jwksPerSecond, unit: "req/s", note: "16 concurrent" },
        { label: "flows (d=1) / signing, per second", value: issuanceShare, unit: "ratio" },
        {
          label: "RSA-2048 signatures per CPU-second",
          value: signingPerCpuSecond,
          unit: "signatures/s",
          note: "this process",
        },
        {
          label: "login flows (d=1) per CPU-second",
          value: flowsPerCpuSecond,
          unit: "flows/s",
          note: "load generator and server together",
        },
        { label: "flows (d=1) / signing, per CPU-second", value: issuanceCpuShare, unit: "ratio" },
      ],
      gates: [
        // Each flow is five HTTP exchanges, three SQLite writes and one RSA
        // signature, on both ends; a tenth of the bare signing rate is the floor
        // below which the server, not RSA, is the bottleneck. Judged by CPU time:
        // per wall-clock second the flows (two processes) gain from a free core
        // and the signatures (one loop) do not, so the ratio measured the
        // machine's load as much as the code.
        {
          name: "login flows (d=1) / RSA signing, per CPU-second",
          actual: issuanceCpuShare,
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
    await server.stop();
  }
}

if (import.meta.main) {
  const { formatSection } = await import("./lib/table.ts");
  const section = await runServerBench({ short: process.argv.includes("--short") });
  console.log(formatSection(section, () => true));
}
