/** METRICS_TOKEN, METRICS_PORT, METRICS_HOST and ACCESS_LOG in `loadConfig` (server/config.ts). */

import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../../server/config.ts";

const TOKEN = "t".repeat(32);

function refusedVariable(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.variable;
    throw error;
  }
  throw new Error("configuration was accepted");
}

describe("operations configuration", () => {
  test("defaults: no token, no operations listener, loopback host, access log on", () => {
    const config = loadConfig({});
    expect(config.metrics).toEqual({ token: null, port: null, host: "127.0.0.1" });
    expect(config.accessLog).toBe(true);
  });

  test("values are parsed", () => {
    const config = loadConfig({
      METRICS_TOKEN: TOKEN,
      METRICS_PORT: "9464",
      METRICS_HOST: "0.0.0.0",
      ACCESS_LOG: "off",
    });
    expect(config.metrics).toEqual({ token: TOKEN, port: 9464, host: "0.0.0.0" });
    expect(config.accessLog).toBe(false);
    expect(loadConfig({ METRICS_PORT: "9464", METRICS_HOST: "::1" }).metrics.port).toBe(9464);
  });

  test("a bad value is refused, naming the variable", () => {
    expect(refusedVariable({ METRICS_TOKEN: "short" })).toBe("METRICS_TOKEN");
    expect(refusedVariable({ METRICS_TOKEN: `${TOKEN} with spaces` })).toBe("METRICS_TOKEN");
    expect(refusedVariable({ METRICS_PORT: "abc" })).toBe("METRICS_PORT");
    expect(refusedVariable({ METRICS_PORT: "70000" })).toBe("METRICS_PORT");
    expect(refusedVariable({ PORT: "8080", METRICS_PORT: "8080" })).toBe("METRICS_PORT");
    expect(refusedVariable({ ACCESS_LOG: "maybe" })).toBe("ACCESS_LOG");
  });

  test("an operations listener off loopback needs METRICS_TOKEN", () => {
    expect(refusedVariable({ METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0" })).toBe("METRICS_HOST");
    expect(
      loadConfig({ METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0", METRICS_TOKEN: TOKEN }).metrics.host,
    ).toBe("0.0.0.0");
  });
});
