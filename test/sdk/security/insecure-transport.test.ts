/**
 * Regression: plain `http:` base URLs, issuers and JWKS URLs off loopback
 * were accepted. Agent and site tokens then crossed the network in clear,
 * and whoever was on the path could answer the JWKS fetch with their own
 * keys and forge any passport a site accepts. Every construction that
 * carries a credential or fetches keys now refuses them (a TypeError naming
 * the setting, `allowInsecureTransport` and https:), loopback excepted, and
 * the one opt-out is `allowInsecureTransport: true` everywhere
 * (`LIME_ALLOW_INSECURE_TRANSPORT=1` in the CLI, `--allow-insecure-transport`
 * in the verification bench). `AgentClient.fetch` follows the same option.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { FetchLike } from "@lime-ts/sdk";
import {
  AgentClient,
  createPassportGuard,
  PassportVerifier,
  SiteClient,
  withAgentPassport,
} from "@lime-ts/sdk";
import { agentPassport } from "@lime-ts/sdk/elysia";
import { runVerifyBudget } from "../../../bench/verify-budget.ts";
import { type CliIo, EXIT, runCli } from "../../../sdk/cli/commands.ts";
import { JwksCache } from "../../../sdk/site/jwks-cache.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { createTestIssuer, JWKS_URL, sign } from "../helpers/issuer.ts";

const TOKEN = "lime_agent_s3cr3t-value";
const OFF_LOOPBACK = [
  "http://lime.example",
  "http://10.0.0.7:3000",
  "http://[fd00::1]",
  "http://0.0.0.0:3000",
];
const LOOPBACK = ["http://localhost:3000", "http://127.0.0.1:3000", "http://127.9.8.7", "http://[::1]:3000"];

const PROFILE = {
  agent_id: "a1",
  owner_id: "o1",
  display_name: "A",
  avatar_url: null,
  description: null,
  owner_kyc_level: 1,
  agent_reputation: 0,
};

/** Records every call; nothing it is handed leaves the process. */
function recordingFetch(answer: () => Response = () => new Response("no", { status: 418 })) {
  const calls: Request[] = [];
  const fetch: FetchLike = async (input, init) => {
    calls.push(new Request(input, init));
    return answer();
  };
  return { calls, fetch };
}

/** The refusal: a TypeError naming the opt-out and the fix, never a token or userinfo. */
function expectRefused(build: () => unknown, setting: string): void {
  let thrown: unknown;
  try {
    build();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  const message = (thrown as Error).message;
  expect(message).toContain(setting);
  expect(message).toContain("allowInsecureTransport: true");
  expect(message).toContain("https:");
  expect(message).not.toContain("s3cr3t");
}

describe("AgentClient baseUrl", () => {
  test("plain http off loopback is refused at construction", () => {
    for (const baseUrl of [...OFF_LOOPBACK, "http://user:s3cr3t@lime.example"]) {
      expectRefused(() => new AgentClient({ baseUrl, agentToken: TOKEN }), "AgentClient: baseUrl");
    }
  });

  test("loopback, https and the explicit opt-out are accepted", () => {
    for (const baseUrl of [...LOOPBACK, "https://lime.example"]) {
      expect(new AgentClient({ baseUrl, agentToken: TOKEN }).baseUrl).toBe(baseUrl);
    }
    for (const baseUrl of OFF_LOOPBACK) {
      const agent = new AgentClient({ baseUrl, agentToken: TOKEN, allowInsecureTransport: true });
      expect(agent.baseUrl).toBe(baseUrl);
    }
  });

  describe("from LIME_API_BASE", () => {
    const saved = process.env.LIME_API_BASE;
    afterEach(() => {
      if (saved === undefined) delete process.env.LIME_API_BASE;
      else process.env.LIME_API_BASE = saved;
    });

    test("is refused too, naming the variable", () => {
      process.env.LIME_API_BASE = "http://lime.example";
      expectRefused(() => new AgentClient({ agentToken: TOKEN }), "AgentClient: LIME_API_BASE");
      process.env.LIME_API_BASE = "http://127.0.0.1:3000";
      expect(new AgentClient({ agentToken: TOKEN }).baseUrl).toBe("http://127.0.0.1:3000");
    });
  });

  test("only `true` opts out", () => {
    for (const allow of [false, undefined, "true", 1] as unknown[]) {
      expectRefused(
        () =>
          new AgentClient({
            baseUrl: "http://lime.example",
            agentToken: TOKEN,
            allowInsecureTransport: allow as boolean,
          }),
        "AgentClient: baseUrl",
      );
    }
  });

  test("the opt-out really talks plain http: the token reaches the configured host", async () => {
    const t = recordingFetch(() => Response.json({ ok: true, data: PROFILE }));
    const agent = new AgentClient({
      baseUrl: "http://lime.example",
      agentToken: TOKEN,
      fetch: t.fetch,
      allowInsecureTransport: true,
    });
    expect((await agent.profile()).agentId).toBe("a1");
    expect(t.calls.map((r) => r.url)).toEqual(["http://lime.example/api/v1/core/agents/me/profile"]);
  });
});

describe("AgentClient.fetch presents a passport only over https or to loopback", () => {
  function agent(allowInsecureTransport?: boolean) {
    const minted: string[] = [];
    const sent: { url: string; authorization: string | null }[] = [];
    const fetch: FetchLike = async (input, init) => {
      const request = new Request(input, init);
      if (request.url === "https://lime.test/api/v1/core/passports") {
        const { audience } = (await request.json()) as { audience: string };
        const claims = btoa(JSON.stringify({ aud: audience, iat: 1, exp: 4_000_000_000 }));
        const passport = `e30.${claims.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}.sig`;
        minted.push(audience);
        const expiresAt = new Date(Date.now() + 300_000).toISOString();
        return Response.json({ ok: true, data: { passport, expires_at: expiresAt } });
      }
      sent.push({ url: request.url, authorization: request.headers.get("authorization") });
      return new Response("ok");
    };
    const client = new AgentClient({
      baseUrl: "https://lime.test",
      agentToken: TOKEN,
      fetch,
      allowInsecureTransport,
    });
    return { client, minted, sent };
  }

  test("plain http off loopback: refused before a passport is minted or anything is sent", async () => {
    for (const target of ["http://shop.example/orders", "http://10.0.0.7/orders"]) {
      const a = agent();
      const error = await a.client.fetch(target).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("allowInsecureTransport: true");
      expect(a.minted).toEqual([]);
      expect(a.sent).toEqual([]);
    }
  });

  test("https, loopback, and the opt-out get the passport for the target's origin", async () => {
    for (const [target, allow] of [
      ["https://shop.example/orders", undefined],
      ["http://127.0.0.1:8080/orders", undefined],
      ["http://localhost:8080/orders", undefined],
      ["http://shop.example/orders", true],
    ] as const) {
      const a = agent(allow);
      await a.client.fetch(target);
      expect(a.minted).toEqual([new URL(target).origin]);
      expect(a.sent).toHaveLength(1);
      expect(a.sent[0]!.authorization).toStartWith("AgentPassport e30.");
    }
  });
});

describe("SiteClient baseUrl, issuer and jwksUrl", () => {
  const site = (options: Record<string, unknown>) =>
    new SiteClient({ baseUrl: "https://lime.example", siteToken: TOKEN, siteId: "s1", ...options });

  test("each is refused off loopback over plain http", () => {
    expectRefused(() => site({ baseUrl: "http://lime.example" }), "SiteClient: baseUrl");
    expectRefused(() => site({ issuer: "http://lime.example" }), "SiteClient: issuer");
    expectRefused(() => site({ jwksUrl: "http://keys.example/jwks.json" }), "SiteClient: jwksUrl");
    // The issuer defaults to the base URL, and the JWKS URL to the issuer's: one check covers both.
    expectRefused(
      () => site({ baseUrl: "http://lime.example", jwksUrl: "https://lime.example/jwks" }),
      "SiteClient: baseUrl",
    );
  });

  test("loopback, https and the opt-out are accepted", () => {
    for (const url of [...LOOPBACK, "https://lime.example"]) {
      const s = site({ baseUrl: url, issuer: url, jwksUrl: `${url}/.well-known/jwks.json` });
      expect(s.verifier.issuer).toBe(url);
    }
    const s = site({
      baseUrl: "http://lime.example",
      jwksUrl: "http://keys.example/jwks.json",
      allowInsecureTransport: true,
    });
    expect(s.verifier.issuer).toBe("http://lime.example");
    expect(s.verifier.jwks.url).toBe("http://keys.example/jwks.json");
  });
});

describe("PassportVerifier and its JWKS cache", () => {
  test("a plain-http issuer or jwksUrl off loopback is refused", () => {
    expectRefused(
      () => new PassportVerifier({ issuer: "http://lime.example", audience: "a" }),
      "PassportVerifier: issuer",
    );
    expectRefused(
      () =>
        new PassportVerifier({
          issuer: "https://lime.example",
          jwksUrl: "http://lime.example/.well-known/jwks.json",
          audience: "a",
        }),
      "PassportVerifier: jwksUrl",
    );
    expectRefused(() => new JwksCache({ url: "http://lime.example/jwks.json" }), "JwksCache: url");
  });

  test("loopback, https, an issuer that is no URL (with an https jwksUrl), and the opt-out are accepted", () => {
    for (const issuer of [...LOOPBACK, "https://lime.example"]) {
      expect(new PassportVerifier({ issuer }).jwks.url).toBe(`${issuer}/.well-known/jwks.json`);
    }
    expect(new PassportVerifier({ issuer: "lime", jwksUrl: "https://lime.example/jwks" }).issuer).toBe(
      "lime",
    );
    const loose = new PassportVerifier({
      issuer: "http://lime.example",
      jwksUrl: "http://keys.example/jwks.json",
      allowInsecureTransport: true,
    });
    expect(loose.jwks.url).toBe("http://keys.example/jwks.json");
    expect(new JwksCache({ url: "http://127.0.0.1:3000/jwks.json" }).url).toBe(
      "http://127.0.0.1:3000/jwks.json",
    );
    expect(new JwksCache({ url: "http://lime.example/jwks.json", allowInsecureTransport: true }).url).toBe(
      "http://lime.example/jwks.json",
    );
  });

  test("the opt-out through `jwks` cache options is not an opt-out", () => {
    const options = {
      issuer: "http://lime.example",
      jwks: { allowInsecureTransport: true },
    } as unknown as ConstructorParameters<typeof PassportVerifier>[0];
    expectRefused(() => new PassportVerifier(options), "PassportVerifier: issuer");
  });

  test("with the opt-out, a passport verifies against keys fetched over plain http", async () => {
    const issuer = await createTestIssuer();
    const fetched: string[] = [];
    const verifier = new PassportVerifier({
      issuer: "http://lime.example",
      audience: "https://shop.test",
      allowInsecureTransport: true,
      fetch: (input, init) => {
        fetched.push(String(input));
        return issuer.fetch(JWKS_URL, init);
      },
    });
    const token = await sign(issuer.keys[0]!, { iss: "http://lime.example" });
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
    // The opt-out covers the revocation list too (docs/revocation.md).
    expect(fetched).toEqual([
      "http://lime.example/.well-known/jwks.json",
      "http://lime.example/api/v1/core/revocations",
    ]);
  });
});

describe("the guards", () => {
  const handler = () => new Response("ok");

  test("createPassportGuard, withAgentPassport and agentPassport refuse a plain-http issuer off loopback", () => {
    const options = { issuer: "http://lime.example", audience: "https://shop.test" };
    expectRefused(() => createPassportGuard(options), "issuer");
    expectRefused(() => withAgentPassport(options, handler), "issuer");
    expectRefused(() => agentPassport(options), "issuer");
    const jwks = { ...options, issuer: "https://lime.example", jwksUrl: "http://cdn.example/jwks.json" };
    expectRefused(() => createPassportGuard(jwks), "jwksUrl");
    expectRefused(() => withAgentPassport(jwks, handler), "jwksUrl");
    expectRefused(() => agentPassport(jwks), "jwksUrl");
  });

  test("and accept loopback, https and the opt-out", () => {
    for (const issuer of ["http://127.0.0.1:3000", "https://lime.example"]) {
      const options = { issuer, audience: "https://shop.test" };
      expect(createPassportGuard(options).verifier.issuer).toBe(issuer);
      expect(typeof withAgentPassport(options, handler)).toBe("function");
      expect(agentPassport(options)).toBeDefined();
    }
    const loose = {
      issuer: "http://lime.example",
      audience: "https://shop.test",
      allowInsecureTransport: true,
    };
    expect(createPassportGuard(loose).verifier.issuer).toBe("http://lime.example");
    expect(typeof withAgentPassport(loose, handler)).toBe("function");
    expect(agentPassport(loose)).toBeDefined();
  });
});

describe("the CLI", () => {
  function run(argv: string[], env: Record<string, string>) {
    const err: string[] = [];
    const t = recordingFetch(() => Response.json({ ok: true, data: PROFILE }));
    const io: CliIo = {
      stdout: () => {},
      stderr: { write: (text) => err.push(text), isTTY: false },
      env: (name) => ({ LIME_AGENT_TOKEN: TOKEN, ...env })[name],
      fetch: t.fetch,
    };
    return { code: runCli(argv, io), err: () => err.join(""), calls: t.calls };
  }

  test("a plain-http LIME_API_BASE or --base-url off loopback is exit 4, naming the variable and its fix", async () => {
    for (const [argv, env, setting] of [
      [["profile"], { LIME_API_BASE: "http://lime.example" }, "LIME_API_BASE"],
      [["profile", "--base-url", "http://lime.example"], {}, "--base-url"],
    ] as const) {
      const r = run([...argv], env);
      expect(await r.code).toBe(EXIT.config);
      expect(r.err()).toContain(setting);
      expect(r.err()).toContain("LIME_ALLOW_INSECURE_TRANSPORT=1");
      expect(r.err()).not.toContain("s3cr3t");
      expect(r.calls).toEqual([]);
    }
  });

  test("LIME_ALLOW_INSECURE_TRANSPORT=1 opts out; loopback needs nothing; other values are exit 4", async () => {
    const loose = run(["profile"], {
      LIME_API_BASE: "http://lime.example",
      LIME_ALLOW_INSECURE_TRANSPORT: "1",
    });
    expect(await loose.code).toBe(EXIT.ok);
    expect(loose.calls.map((r) => r.url)).toEqual(["http://lime.example/api/v1/core/agents/me/profile"]);
    const local = run(["profile"], { LIME_API_BASE: "http://127.0.0.1:3000" });
    expect(await local.code).toBe(EXIT.ok);
    const strict = run(["profile"], {
      LIME_API_BASE: "http://lime.example",
      LIME_ALLOW_INSECURE_TRANSPORT: "0",
    });
    expect(await strict.code).toBe(EXIT.config);
    const typo = run(["profile"], {
      LIME_API_BASE: "https://lime.example",
      LIME_ALLOW_INSECURE_TRANSPORT: "yes",
    });
    expect(await typo.code).toBe(EXIT.config);
    expect(typo.err()).toContain("LIME_ALLOW_INSECURE_TRANSPORT");
    expect(typo.calls).toEqual([]);
  });
});

describe("the verification bench", () => {
  const savedFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = savedFetch;
  });

  test("--issuer over plain http off loopback is refused before the agent token is sent", async () => {
    const t = recordingFetch();
    globalThis.fetch = t.fetch as typeof fetch;
    const error = await runVerifyBudget({
      short: true,
      issuer: "http://lime.example",
      agentToken: TOKEN,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("--issuer");
    expect((error as Error).message).toContain("--allow-insecure-transport");
    expect(t.calls).toEqual([]);
    const apiBase = await runVerifyBudget({
      short: true,
      issuer: "https://lime.example",
      apiBase: "http://lime.example",
      agentToken: TOKEN,
    }).catch((e: unknown) => e);
    expect((apiBase as Error).message).toContain("--api-base");
    expect(t.calls).toEqual([]);
  });

  test("with allowInsecureTransport (--allow-insecure-transport) it goes ahead", async () => {
    // The fake issuer refuses the first mint (a 400 is never retried): the run got past the check.
    const t = recordingFetch(() =>
      Response.json({ ok: false, error: { code: "VALIDATION_FAILED", message: "no" } }, { status: 400 }),
    );
    globalThis.fetch = t.fetch as typeof fetch;
    const error = await runVerifyBudget({
      short: true,
      issuer: "http://lime.example",
      agentToken: TOKEN,
      allowInsecureTransport: true,
    }).catch((e: unknown) => e);
    expect((error as { code?: unknown }).code).toBe("VALIDATION_FAILED");
    expect(t.calls.map((r) => r.url)).toEqual(["http://lime.example/api/v1/core/passports"]);
  });

  test(
    "the command line refuses without --allow-insecure-transport and takes it",
    async () => {
      const bench = async (...flags: string[]) => {
        // Port 9 on loopback is closed: with the flag the run gets as far as minting, and fails there.
        const argv = [
          "--short",
          "--issuer",
          "http://lime.example",
          "--api-base",
          "http://127.0.0.1:9",
          ...flags,
        ];
        const child = Bun.spawn([process.execPath, "bench/verify-budget.ts", ...argv], {
          env: { ...process.env, LIME_AGENT_TOKEN: TOKEN },
          stdout: "pipe",
          stderr: "pipe",
        });
        const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
        expect(code).not.toBe(0);
        expect(stderr).not.toContain("s3cr3t");
        return stderr;
      };
      const refused = await bench();
      expect(refused).toContain("--issuer");
      expect(refused).toContain("pass --allow-insecure-transport");
      const allowed = await bench("--allow-insecure-transport");
      expect(allowed).not.toContain("unknown option");
      expect(allowed).not.toContain("neither https nor loopback");
      expect(allowed).toContain("SDK_NETWORK_ERROR");
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
