import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";

const BUN = process.execPath;
const MAIN = join(import.meta.dir, "../../server/main.ts");

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LIME_LOG_LEVEL: "info", ...extra };
}

describe("server/main.ts", () => {
  test(
    "invalid configuration stops the server with exit code 1 and names the variable",
    async () => {
      const child = Bun.spawn([BUN, MAIN], {
        env: baseEnv({ PORT: "not-a-port" }),
        stderr: "pipe",
        stdout: "pipe",
      });
      expect(await child.exited).toBe(1);
      expect(await new Response(child.stderr).text()).toContain("PORT:");
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "production without LIME_KEY_ENCRYPTION_KEY refuses to start",
    async () => {
      const child = Bun.spawn([BUN, MAIN], {
        env: baseEnv({ NODE_ENV: "production", PUBLIC_URL: "https://id.example" }),
        stderr: "pipe",
        stdout: "pipe",
      });
      expect(await child.exited).toBe(1);
      expect(await new Response(child.stderr).text()).toContain("LIME_KEY_ENCRYPTION_KEY");
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "with no configuration beyond a port and a database path it serves, warning about the development KEK (0600)",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "lime-boot-"));
      const child = Bun.spawn([BUN, MAIN], {
        env: baseEnv({ PORT: "0", DATABASE_PATH: join(dir, "db", "lime.sqlite") }),
        stderr: "pipe",
        stdout: "pipe",
      });
      try {
        const reader = child.stderr.getReader();
        let log = "";
        let port = 0;
        const deadline = Date.now() + 20_000;
        while (port === 0 && Date.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          log += new TextDecoder().decode(value);
          const match = /"message":"LIME identity server listening","port":(\d+)/.exec(log);
          if (match) port = Number(match[1]);
        }
        expect(port).toBeGreaterThan(0);
        expect(log).toContain("LIME_KEY_ENCRYPTION_KEY is not set");
        const kek = join(dir, "db", "lime-dev-kek.b64url");
        expect(statSync(kek).mode & 0o777).toBe(0o600);
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        expect(await health.json()).toEqual({ ok: true, data: { status: "ok" } });
        const jwks = await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`);
        expect(((await jwks.json()) as { keys: unknown[] }).keys).toHaveLength(2);
      } finally {
        child.kill("SIGTERM");
        await child.exited;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
