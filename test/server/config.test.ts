import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig, PRODUCTION_PASSWORD_HASHING } from "../../server/config.ts";

const KEK = Buffer.alloc(32, 7).toString("base64url");

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("configuration was accepted");
}

describe("configuration", () => {
  test("defaults: port 3000, SQLite under ./data, issuer on localhost, email verification on, admin API off", () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databasePath).toBe("./data/lime.sqlite");
    expect(config.publicUrl).toBe("http://localhost:3000");
    expect(config.emailVerification).toBe(true);
    expect(config.adminToken).toBeNull();
    expect(config.keyEncryptionKey).toBeNull();
    expect(config.defaultPowDifficulty).toBe(15);
    expect(config.lifetimes.siteLoginPassportMs).toBeLessThanOrEqual(120_000);
    expect(config.passwordHashing).toEqual(PRODUCTION_PASSWORD_HASHING);
  });

  test("values are parsed: PUBLIC_URL loses its trailing slash, EMAIL_VERIFICATION=off, the KEK decodes to 32 bytes", () => {
    const config = loadConfig({
      PORT: "8080",
      PUBLIC_URL: "https://id.example/",
      EMAIL_VERIFICATION: "off",
      LIME_KEY_ENCRYPTION_KEY: KEK,
      ADMIN_TOKEN: "a".repeat(40),
      SITE_LOGIN_PASSPORT_TTL_SECONDS: "120",
    });
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe("https://id.example");
    expect(config.emailVerification).toBe(false);
    expect(config.keyEncryptionKey).toEqual(new Uint8Array(32).fill(7));
    expect(config.adminToken).toBe("a".repeat(40));
    expect(config.lifetimes.siteLoginPassportMs).toBe(120_000);
  });

  test.each([
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ PORT: "-1" }, "PORT"],
    [{ PUBLIC_URL: "not a url" }, "PUBLIC_URL"],
    [{ PUBLIC_URL: "ftp://id.example" }, "PUBLIC_URL"],
    [{ PUBLIC_URL: "https://id.example/?x=1" }, "PUBLIC_URL"],
    [{ EMAIL_VERIFICATION: "maybe" }, "EMAIL_VERIFICATION"],
    [{ ADMIN_TOKEN: "short" }, "ADMIN_TOKEN"],
    [{ LIME_KEY_ENCRYPTION_KEY: "too-short" }, "LIME_KEY_ENCRYPTION_KEY"],
    [{ LIME_KEY_ENCRYPTION_KEY: Buffer.alloc(32).toString("base64") }, "LIME_KEY_ENCRYPTION_KEY"],
    [{ SITE_LOGIN_PASSPORT_TTL_SECONDS: "121" }, "SITE_LOGIN_PASSPORT_TTL_SECONDS"],
    [{ LOGIN_REQUEST_TTL_SECONDS: "1.5" }, "LOGIN_REQUEST_TTL_SECONDS"],
    [{ DEFAULT_POW_DIFFICULTY: "41" }, "DEFAULT_POW_DIFFICULTY"],
    [
      { KEY_ROTATION_INTERVAL_SECONDS: "3600", JWKS_MAX_AGE_SECONDS: "3600" },
      "KEY_ROTATION_INTERVAL_SECONDS",
    ],
    [{ NODE_ENV: "production", PUBLIC_URL: "https://id.example" }, "LIME_KEY_ENCRYPTION_KEY"],
    [{ NODE_ENV: "production", LIME_KEY_ENCRYPTION_KEY: KEK, PUBLIC_URL: "http://id.example" }, "PUBLIC_URL"],
  ])("%j is refused with a message naming %s", (env, variable) => {
    const error = refusal(env as Record<string, string>);
    expect(error.variable).toBe(variable);
    expect(error.message).toStartWith(`${variable}:`);
  });

  test("production starts with a KEK and an https issuer", () => {
    const config = loadConfig({
      NODE_ENV: "production",
      LIME_KEY_ENCRYPTION_KEY: KEK,
      PUBLIC_URL: "https://id.example",
    });
    expect(config.production).toBe(true);
  });
});

describe("LIME_KEY_ENCRYPTION_KEY_PREVIOUS (the KEK being retired during a KEK rotation)", () => {
  const NEW = Buffer.alloc(32, 8).toString("base64url");

  test("unset: no previous key; set beside a different current key: decoded to 32 bytes", () => {
    expect(loadConfig({ LIME_KEY_ENCRYPTION_KEY: NEW }).previousKeyEncryptionKey).toBeNull();
    expect(loadConfig({}).previousKeyEncryptionKey).toBeNull();
    const config = loadConfig({
      NODE_ENV: "production",
      PUBLIC_URL: "https://id.example",
      LIME_KEY_ENCRYPTION_KEY: NEW,
      LIME_KEY_ENCRYPTION_KEY_PREVIOUS: ` ${KEK} `,
    });
    expect(config.keyEncryptionKey).toEqual(new Uint8Array(32).fill(8));
    expect(config.previousKeyEncryptionKey).toEqual(new Uint8Array(32).fill(7));
  });

  test.each([
    [
      "not base64url of 32 bytes",
      { LIME_KEY_ENCRYPTION_KEY: NEW, LIME_KEY_ENCRYPTION_KEY_PREVIOUS: "short" },
    ],
    [
      "padded base64",
      {
        LIME_KEY_ENCRYPTION_KEY: NEW,
        LIME_KEY_ENCRYPTION_KEY_PREVIOUS: Buffer.alloc(32, 7).toString("base64"),
      },
    ],
    ["the same as the current key", { LIME_KEY_ENCRYPTION_KEY: KEK, LIME_KEY_ENCRYPTION_KEY_PREVIOUS: KEK }],
    ["without a current key", { LIME_KEY_ENCRYPTION_KEY_PREVIOUS: KEK }],
  ])("%s is refused with a message naming LIME_KEY_ENCRYPTION_KEY_PREVIOUS", (_, env) => {
    const error = refusal(env);
    expect(error.variable).toBe("LIME_KEY_ENCRYPTION_KEY_PREVIOUS");
    expect(error.message).toStartWith("LIME_KEY_ENCRYPTION_KEY_PREVIOUS:");
  });

  test("the value is never echoed in the refusal", () => {
    const error = refusal({ LIME_KEY_ENCRYPTION_KEY: KEK, LIME_KEY_ENCRYPTION_KEY_PREVIOUS: KEK });
    expect(error.message).not.toContain(KEK);
  });
});
