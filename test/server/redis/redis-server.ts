/**
 * A private `redis-server` per test file: a free loopback port, no
 * persistence, stopped after the file. Never the machine's Redis on 6379.
 *
 * Without a `redis-server` binary the Redis tests are skipped with a notice,
 * except under CI (`CI` set), where `.ci/run` installs it and its absence is
 * a failure.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { describeWithPrivateServer, startOnFreePort } from "../../support/private-server.ts";

export const redisServerPath = Bun.which("redis-server");

export interface RedisServer {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: connections drop as in a crash) without starting it again. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves once the port answers PING, or rejects after `timeoutMs`. */
async function waitForPong(port: number, exited: Promise<number>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`redis-server on port ${port} exited during startup`);
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port }, () => socket.write("PING\r\n"));
      socket.setTimeout(500, () => {
        socket.destroy();
        resolve(false);
      });
      socket.on("data", (chunk) => {
        socket.destroy();
        resolve(chunk.toString().startsWith("+PONG"));
      });
      socket.on("error", () => resolve(false));
    });
    if (answered) return;
    await Bun.sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
}

export async function startRedisServer(): Promise<RedisServer> {
  if (!redisServerPath) throw new Error("redis-server is not installed");
  const dir = mkdtempSync(join(tmpdir(), "lime-redis-"));
  let port = 0;
  let running: Subprocess | null = null;

  const spawn = async () => {
    const child = Bun.spawn(
      [
        redisServerPath,
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--loglevel",
        "warning",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    try {
      await waitForPong(port, child.exited);
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    running = child;
  };

  try {
    port = await startOnFreePort(async (candidate) => {
      port = candidate;
      await spawn();
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const kill = async () => {
    const child = running;
    running = null;
    if (!child) return;
    child.kill("SIGKILL");
    await child.exited;
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start: spawn,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A `describe` block with a private Redis for its tests; `redis()` returns
 * it inside a test. Skipped with a notice when `redis-server` is missing,
 * failing instead under CI.
 */
export function describeWithRedis(title: string, body: (redis: () => RedisServer) => void): void {
  describeWithPrivateServer(
    title,
    {
      name: "redis-server",
      available: redisServerPath !== null,
      install: "apt-get install -y redis-server",
      start: startRedisServer,
    },
    body,
  );
}
