/**
 * `server/main.ts` as `npm start` runs it, in a child process with its own
 * temporary database directory and only the environment a test gives it.
 * Resolves once the server logs the port it listens on; its log keeps being
 * collected until it stops.
 *
 * @example
 * const main = await startMainProcess({ EMAIL_VERIFICATION: "off" });
 * await fetch(`${main.url}/health`);
 * await main.stop();
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../server/main.ts");

export interface MainProcess {
  url: string;
  port: number;
  /** The database directory; removed by `stop()`. */
  dir: string;
  /** Everything the server logged so far, one JSON object per line. */
  log(): string;
  /** Resolves with the log once `predicate` holds for it (the pipe may lag behind an HTTP answer). */
  waitForLog(predicate: (log: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number>;
}

export async function startMainProcess(env: Record<string, string>): Promise<MainProcess> {
  const dir = mkdtempSync(join(tmpdir(), "lime-main-"));
  const child = Bun.spawn([process.execPath, MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      LIME_LOG_LEVEL: "info",
      PORT: "0",
      DATABASE_PATH: join(dir, "lime.sqlite"),
      ...env,
    },
    stderr: "pipe",
    stdout: "ignore",
  });
  let log = "";
  let portSeen: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => {
    portSeen = resolve;
  });
  const pump = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
      const match = /"message":"LIME identity server listening","port":(\d+)/.exec(log);
      if (match) portSeen(Number(match[1]));
    }
    portSeen(0);
  })();
  const stop = async () => {
    child.kill("SIGTERM");
    const code = await child.exited;
    await pump;
    rmSync(dir, { recursive: true, force: true });
    return code;
  };
  const port = await listening;
  if (port === 0) {
    await stop();
    throw new Error(`server/main.ts exited before listening:\n${log}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    log: () => log,
    async waitForLog(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(log)) {
        if (Date.now() > deadline) throw new Error(`the log never matched:\n${log}`);
        await Bun.sleep(20);
      }
      return log;
    },
    stop,
  };
}
