import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../../server/config.ts";
import { silentLogger } from "../../../server/infrastructure/logger.ts";
import { closeRedis, connectRedis } from "../../../server/infrastructure/redis/connection.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { describeWithRedis } from "./redis-server.ts";

const BUN = process.execPath;
const MAIN = join(import.meta.dir, "../../../server/main.ts");

describe("REDIS_URL configuration", () => {
  test("unset or empty keeps the short-lived state in process memory", () => {
    expect(loadConfig({}).redisUrl).toBeNull();
    expect(loadConfig({ REDIS_URL: " " }).redisUrl).toBeNull();
  });

  test.each([
    "redis://127.0.0.1:6379",
    "redis://redis.internal",
    "rediss://lime:secret@redis.internal:6380/2",
    "redis://[::1]:6379/0",
  ])("accepts %s", (url) => {
    expect(loadConfig({ REDIS_URL: url }).redisUrl).toBe(url);
  });

  test.each([
    "127.0.0.1:6379",
    "http://redis.internal",
    "redis://",
    "redis:///0",
    "redis://h/db",
    "redis://h/123",
    "redis://h?tls=1",
    "redis://h#x",
  ])("refuses %s, naming REDIS_URL", (url) => {
    expect(() => loadConfig({ REDIS_URL: url })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: url })).toThrow(/^REDIS_URL: /);
  });

  test("the refusal never echoes the value, which may carry a password", () => {
    const error = (() => {
      try {
        loadConfig({ REDIS_URL: "redis://lime:hunter2-secret@h/db" });
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toStartWith("REDIS_URL: ");
    expect(error?.message).not.toContain("hunter2-secret");
  });
});

describeWithRedis("server/main.ts with REDIS_URL", (redis) => {
  test(
    "boots on Redis (two named connections: commands, subscriber), serves, and shuts down cleanly on SIGTERM",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "lime-boot-redis-"));
      const child = Bun.spawn([BUN, MAIN], {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          LIME_LOG_LEVEL: "info",
          PORT: "0",
          HOST: "127.0.0.1",
          DATABASE_PATH: join(dir, "lime.sqlite"),
          REDIS_URL: redis().url,
        },
        stderr: "pipe",
        stdout: "ignore",
      });
      const admin = await connectRedis({ url: redis().url, logger: silentLogger, name: "admin" });
      const limeConnections = async () =>
        (await admin.sendCommand<string>(["CLIENT", "LIST"]))
          .split("\n")
          .map((line) => /name=(lime-[a-z]+)/.exec(line)?.[1])
          .filter((name) => name === "lime-commands" || name === "lime-subscriber")
          .sort();
      try {
        const reader = child.stderr.getReader();
        let log = "";
        let port = 0;
        while (port === 0) {
          const { value, done } = await reader.read();
          if (done) break;
          log += new TextDecoder().decode(value);
          const match = /"message":"LIME identity server listening","port":(\d+)/.exec(log);
          if (match) port = Number(match[1]);
        }
        expect(port).toBeGreaterThan(0);
        expect(log).toContain(`"shared_state":"${redis().url}"`);
        expect(await limeConnections()).toEqual(["lime-commands", "lime-subscriber"]);
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        expect(health.status).toBe(200);

        // The shutdown path closes the Redis connections after the server; it must neither hang nor throw.
        child.kill("SIGTERM");
        expect(await child.exited).toBe(0);
      } finally {
        child.kill("SIGKILL");
        await closeRedis(admin);
        rmSync(dir, { recursive: true, force: true });
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
