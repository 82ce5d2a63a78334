import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../../server/config.ts";
import { silentLogger } from "../../../server/infrastructure/logger.ts";
import { closeRedis, connectRedis } from "../../../server/infrastructure/redis/connection.ts";
import { startMainProcess } from "../../support/main-process.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { describeWithRedis } from "./redis-server.ts";

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
      const admin = await connectRedis({ url: redis().url, logger: silentLogger, name: "admin" });
      const limeConnections = async () =>
        (await admin.sendCommand<string>(["CLIENT", "LIST"]))
          .split("\n")
          .map((line) => /name=(lime-[a-z]+)/.exec(line)?.[1])
          .filter((name) => name === "lime-commands" || name === "lime-subscriber")
          .sort();
      const main = await startMainProcess({ HOST: "127.0.0.1", REDIS_URL: redis().url });
      try {
        expect(main.log()).toContain(`"shared_state":"${redis().url}"`);
        expect(await limeConnections()).toEqual(["lime-commands", "lime-subscriber"]);
        const health = await fetch(`${main.url}/health`);
        expect(health.status).toBe(200);
        // The shutdown path closes the Redis connections after the server; it must neither hang nor throw.
        expect(await main.stop()).toBe(0);
      } finally {
        await main.stop();
        await closeRedis(admin);
      }
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
