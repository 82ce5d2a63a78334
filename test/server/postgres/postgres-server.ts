/**
 * A private PostgreSQL per test file: `initdb` into a temporary directory,
 * the server on a free loopback port with its socket in that directory,
 * trust authentication. Never the machine's PostgreSQL on 5432.
 *
 * `fsync=off` only: it matters for a crash of the operating system, which
 * these tests never cause. Commits stay synchronous, so a killed server
 * (the fault tests' SIGKILL) loses no committed transaction, as a real one
 * would not; with `synchronous_commit=off` the last commits and sequence
 * values vanish with the process and ids are handed out twice.
 *
 * `initdb` and `postgres` refuse to run as root; as root (CI) they run as the
 * `postgres` user that Debian's package creates, through `setpriv`, which
 * execs rather than forks, so the process we hold is the postmaster itself
 * and a kill reaches it.
 *
 * Without the binaries the PostgreSQL tests are skipped with a notice, except
 * under CI (`CI` set), where `.ci/run` installs `postgresql` and their absence
 * is a failure.
 */

import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { describeWithPrivateServer, startOnFreePort } from "../../support/private-server.ts";

function findBinDir(): string | null {
  const initdb = Bun.which("initdb");
  if (initdb && Bun.which("postgres")) return null; // both on PATH: call them by name
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return initdb ? null : "";
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(root, version, "bin");
    if (existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"))) return dir;
  }
  return "";
}

const binDir = findBinDir();
/** Whether this machine can run a private PostgreSQL. */
export const postgresAvailable = binDir !== "";
const bin = (name: string) => (binDir ? join(binDir, name) : name);

const asRoot = userInfo().uid === 0;
function command(argv: string[]): string[] {
  return asRoot ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", ...argv] : argv;
}

export interface PostgresServer {
  /** `postgres://…/postgres` on this server. */
  url: string;
  port: number;
  /** A URL for another database on the same server. */
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Kills the postmaster with SIGKILL (a crash: connections drop, nothing is flushed). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves once the port accepts a TCP connection, or rejects after `timeoutMs`. */
async function waitForPort(port: number, exited: Promise<number>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`postgres on port ${port} exited during startup`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await Bun.sleep(25);
  }
  throw new Error(`postgres on port ${port} did not accept connections within ${timeoutMs} ms`);
}

async function run(argv: string[]): Promise<void> {
  const child = Bun.spawn(command(argv), { stdout: "pipe", stderr: "pipe" });
  const code = await child.exited;
  if (code !== 0) {
    const stderr = await new Response(child.stderr).text();
    throw new Error(`${argv[0]} exited with ${code}: ${stderr.trim()}`);
  }
}

export async function startPostgresServer(): Promise<PostgresServer> {
  if (!postgresAvailable) throw new Error("PostgreSQL (initdb, postgres) is not installed");
  const dir = mkdtempSync(join(tmpdir(), "lime-pg-"));
  if (asRoot) chownSync(dir, uidOf("postgres"), gidOf("postgres"));
  const data = join(dir, "data");
  await run([
    bin("initdb"),
    "-D",
    data,
    "-U",
    "postgres",
    "-A",
    "trust",
    "--no-sync",
    "-E",
    "UTF8",
    "--no-locale",
  ]);
  let port = 0;
  let running: Subprocess | null = null;

  const spawn = async () => {
    const child = Bun.spawn(
      command([
        bin("postgres"),
        "-D",
        data,
        "-p",
        String(port),
        "-k",
        dir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "max_connections=200",
        "-c",
        "shared_buffers=32MB",
      ]),
      { stdout: "ignore", stderr: "ignore" },
    );
    try {
      await waitForPort(port, child.exited);
      await waitForQueries(`postgres://postgres@127.0.0.1:${port}/postgres`);
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
    // The postmaster's children notice its death and exit; the next start waits for them to go.
    await Bun.sleep(100);
  };
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let databases = 0;

  return {
    url: urlFor("postgres"),
    port,
    urlFor,
    async createDatabase(name = `t${process.pid}_${++databases}_${crypto.randomUUID().slice(0, 8)}`) {
      const admin = new Bun.SQL(urlFor("postgres"), { max: 1 });
      try {
        await admin.unsafe(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.close();
      }
      return urlFor(name);
    },
    kill,
    async start() {
      // After a SIGKILL the old backends may still hold the shared memory for a moment.
      for (let attempt = 0; ; attempt++) {
        try {
          await spawn();
          return;
        } catch (error) {
          if (attempt >= 20) throw error;
          await Bun.sleep(100);
        }
      }
    },
    async stop() {
      const child = running;
      running = null;
      if (child) {
        child.kill("SIGQUIT"); // immediate shutdown: the data is thrown away
        await child.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForQueries(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sql = new Bun.SQL(url, { max: 1, connectionTimeout: 2 });
    try {
      await sql`SELECT 1`;
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await Bun.sleep(50);
    } finally {
      await sql.close().catch(() => {});
    }
  }
}

function idOf(flag: "-u" | "-g", name: string): number {
  const out = Bun.spawnSync(["id", flag, name]).stdout.toString().trim();
  const id = Number(out);
  if (!out || !Number.isInteger(id)) throw new Error(`no ${name} user on this machine`);
  return id;
}
const uidOf = (name: string) => idOf("-u", name);
const gidOf = (name: string) => idOf("-g", name);

/**
 * A `describe` block with a private PostgreSQL for its tests; `postgres()`
 * returns it inside a test. Skipped with a notice when PostgreSQL is missing,
 * failing instead under CI.
 */
export function describeWithPostgres(title: string, body: (postgres: () => PostgresServer) => void): void {
  describeWithPrivateServer(
    title,
    {
      name: "PostgreSQL",
      available: postgresAvailable,
      install: "apt-get install -y postgresql",
      start: startPostgresServer,
      startTimeoutMs: 60_000,
    },
    body,
  );
}
