import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMainProcess } from "../support/main-process.ts";
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
      const main = await startMainProcess({ DATABASE_PATH: join(dir, "db", "lime.sqlite") });
      try {
        expect(main.log()).toContain("LIME_KEY_ENCRYPTION_KEY is not set");
        const kek = join(dir, "db", "lime-dev-kek.b64url");
        expect(statSync(kek).mode & 0o777).toBe(0o600);
        const health = await fetch(`${main.url}/health`);
        expect(await health.json()).toEqual({ ok: true, data: { status: "ok" } });
        const jwks = await fetch(`${main.url}/.well-known/jwks.json`);
        expect(((await jwks.json()) as { keys: unknown[] }).keys).toHaveLength(2);
      } finally {
        await main.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
