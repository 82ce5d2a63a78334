/**
 * A fleet for tests: server processes started exactly as an operator starts
 * them (`bun server/main.ts` with environment variables), each in a working
 * directory of its own so nothing is shared on disk, behind a small
 * round-robin TCP balancer that skips instances that refuse connections (as
 * a load balancer's health check would).
 */

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

const MAIN = resolve(import.meta.dir, "../../../server/main.ts");
export const FLEET_METRICS_TOKEN = "fleet-metrics-token-0123456789abcdef";

export interface FleetInstance {
  name: string;
  url: string;
  port: number;
  /** The instance's working directory (empty unless something wrote to disk). */
  cwd: string;
  /** Everything the process printed, one JSON log line per entry. */
  logs: string[];
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** Ends the process and removes its working directory. */
  kill(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Files the instance left in its working directory. */
  filesWritten(): string[];
}

export interface FleetEnv {
  databaseUrl: string;
  publicUrl: string;
  kek: string;
  redisUrl?: string;
  adminToken?: string;
  extra?: Record<string, string>;
}

/** Starts `bun server/main.ts` on a free port and resolves once it logs that it listens. */
export async function startInstance(name: string, env: FleetEnv, timeoutMs = 30_000): Promise<FleetInstance> {
  const cwd = mkdtempSync(join(tmpdir(), `lime-fleet-${name}-`));
  const child: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn([process.execPath, MAIN], {
    cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? tmpdir(),
      // Bun's transpiler cache would otherwise be the only thing an instance writes.
      BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0",
      PORT: "0",
      HOST: "127.0.0.1",
      PUBLIC_URL: env.publicUrl,
      DATABASE_URL: env.databaseUrl,
      LIME_KEY_ENCRYPTION_KEY: env.kek,
      EMAIL_VERIFICATION: "off",
      DEFAULT_POW_DIFFICULTY: "1",
      MAINTENANCE_INTERVAL_SECONDS: "1",
      RATE_LIMIT_AUTH_PER_MINUTE: "100000",
      RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE: "100000",
      RATE_LIMIT_CHALLENGE_FETCHES_PER_MINUTE: "100000",
      RATE_LIMIT_APPROVALS_PER_MINUTE: "100000",
      RATE_LIMIT_PASSPORTS_PER_MINUTE: "100000",
      SSE_MAX_STREAMS_PER_SITE: "64",
      SSE_KEEPALIVE_SECONDS: "1",
      METRICS_TOKEN: FLEET_METRICS_TOKEN,
      ...(env.redisUrl && { REDIS_URL: env.redisUrl }),
      ...(env.adminToken && { ADMIN_TOKEN: env.adminToken }),
      ...env.extra,
    },
  });
  const logs: string[] = [];
  const listening = new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const read = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of stream) {
        buffered += decoder.decode(chunk, { stream: true });
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          logs.push(line);
          try {
            const entry = JSON.parse(line) as { message?: string; port?: number };
            if (entry.message === "LIME identity server listening" && typeof entry.port === "number") {
              clearTimeout(timer);
              resolvePort(entry.port);
            }
          } catch {
            // Not a log line (a crash trace, say): kept in `logs` for the failure message.
          }
          newline = buffered.indexOf("\n");
        }
      }
    };
    void read(child.stdout);
    void read(child.stderr);
    void child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${logs.slice(-20).join("\n")}`));
    });
  });
  let port: number;
  try {
    port = await listening;
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(cwd, { recursive: true, force: true });
    throw error;
  }
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    cwd,
    logs,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await child.exited;
      rmSync(cwd, { recursive: true, force: true });
    },
    filesWritten: () => readdirSync(cwd, { recursive: true }).map(String),
  };
}

export interface Balancer {
  url: string;
  port: number;
  /** The instance each accepted connection went to, in order. */
  routed: string[];
  setBackends(backends: FleetInstance[]): void;
  close(): Promise<void>;
}

/**
 * Round-robin over the instances, moving on to the next one when an
 * instance refuses the connection (killed). Long-lived connections (event
 * streams) are piped untouched, as a TCP load balancer does.
 */
export async function startBalancer(): Promise<Balancer> {
  let backends: FleetInstance[] = [];
  let next = 0;
  const routed: string[] = [];
  const sockets = new Set<Socket>();

  const pipeTo = (client: Socket, attempt: number) => {
    if (attempt >= backends.length) {
      client.destroy();
      return;
    }
    const backend = backends[next++ % backends.length]!;
    const upstream = tcpConnect({ host: "127.0.0.1", port: backend.port });
    sockets.add(upstream);
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      routed.push(backend.name);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on("error", () => {
      if (!connected) pipeTo(client, attempt + 1);
      else client.destroy();
    });
    upstream.on("close", () => {
      sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    pipeTo(client, 0);
  });
  const port = await new Promise<number>((resolvePort) => {
    server.listen(0, "127.0.0.1", () => resolvePort((server.address() as { port: number }).port));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    routed,
    setBackends(list) {
      backends = list;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
