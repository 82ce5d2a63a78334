import { describe, expect, test } from "bun:test";
import type { FetchLike } from "@lime-ts/sdk";
import { agentPassport } from "@lime-ts/sdk/elysia";
import { Elysia } from "elysia";
import {
  challengeHeader,
  createPassportGuard,
  passportFrom,
  withAgentPassport,
} from "../../sdk/site/guard.ts";
import { createTestIssuer, ISSUER, sign } from "./helpers/issuer.ts";

const AUDIENCE = "https://shop.test";

function request(authorization?: string): Request {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return new Request("https://shop.test/orders", { headers });
}

describe("passportFrom", () => {
  test("reads the JWT of the AgentPassport scheme, case-insensitively", () => {
    expect(passportFrom(request("AgentPassport a.b.c"))).toBe("a.b.c");
    expect(passportFrom(request("agentpassport  a.b.c"))).toBe("a.b.c");
  });

  test("anything else is SDK_PASSPORT_MISSING", () => {
    for (const header of [
      undefined,
      "",
      "Bearer a.b.c",
      "AgentPassport",
      "AgentPassport a b",
      "Basic Zm9vOmJhcg==",
    ]) {
      expect(() => passportFrom(request(header))).toThrow(
        expect.objectContaining({ code: "SDK_PASSPORT_MISSING" }),
      );
    }
  });
});

describe("challengeHeader (RFC 9110 §11.6.1, RFC 6750 §3 parameters)", () => {
  test("no error parameter when no credentials came", () => {
    expect(challengeHeader({ code: "SDK_PASSPORT_MISSING" }, "https://shop.test")).toBe(
      'AgentPassport realm="https://shop.test"',
    );
  });

  test("invalid_token with the stable code when the passport was refused; quotes are escaped", () => {
    expect(challengeHeader({ code: "PASSPORT_EXPIRED" }, 'a"b')).toBe(
      'AgentPassport realm="a\\"b", error="invalid_token", error_description="PASSPORT_EXPIRED"',
    );
  });
});

describe("createPassportGuard / withAgentPassport (fetch-style servers)", () => {
  test("resolves the verified PassportContext for a valid passport", async () => {
    const issuer = await createTestIssuer();
    const guard = createPassportGuard({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch });
    const passport = await guard(request(`AgentPassport ${await sign(issuer.keys[0]!)}`));
    expect(passport.agentId).toBe("agent-1");
    expect(passport.ownerKycLevel).toBe(1);
  });

  test("a misconfigured guard is the site's bug: it propagates instead of blaming the agent", async () => {
    const issuer = await createTestIssuer();
    const handler = withAgentPassport(
      { issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch, clockToleranceSec: 10_000 },
      () => new Response("no"),
    );
    await expect(handler(request(`AgentPassport ${await sign(issuer.keys[0]!)}`))).rejects.toMatchObject({
      code: "PASSPORT_INVALID_OPTION",
    });
  });
});

describe("agentPassport Elysia plugin", () => {
  test("derives passport on the context of routes after it; routes before it stay public", async () => {
    const issuer = await createTestIssuer();
    const app = new Elysia()
      .get("/public", () => "open")
      .use(agentPassport({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch }))
      .get("/me", ({ passport }) => ({ agent: passport.agentId, kyc: passport.ownerKycLevel }));
    const token = await sign(issuer.keys[0]!);
    const me = await app.handle(
      new Request("http://shop.test/me", { headers: { authorization: `AgentPassport ${token}` } }),
    );
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ agent: "agent-1", kyc: 1 });
    const open = await app.handle(new Request("http://shop.test/public"));
    expect(open.status).toBe(200);
  });
});

/** The two ways a site mounts the guard, each behind a route that answers the passport's agent. */
const frontEnds: [string, (issuerFetch: FetchLike) => (request: Request) => Promise<Response>][] = [
  [
    "withAgentPassport (fetch-style servers)",
    (issuerFetch) =>
      withAgentPassport({ issuer: ISSUER, audience: AUDIENCE, fetch: issuerFetch }, (_req, passport) =>
        Response.json({ agent: passport.agentId }),
      ),
  ],
  [
    "agentPassport (Elysia)",
    (issuerFetch) => {
      const app = new Elysia()
        .use(agentPassport({ issuer: ISSUER, audience: AUDIENCE, fetch: issuerFetch }))
        .get("/orders", ({ passport }) => ({ agent: passport.agentId }));
      return (request) => app.handle(request);
    },
  ],
];

for (const [name, mount] of frontEnds) {
  describe(`${name}: the refusal answers`, () => {
    test("200 for a valid passport; 401 with WWW-Authenticate and the envelope for missing, foreign-audience, forged and expired ones", async () => {
      const issuer = await createTestIssuer();
      const handler = mount(issuer.fetch);
      const ok = await handler(request(`AgentPassport ${await sign(issuer.keys[0]!)}`));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ agent: "agent-1" });

      const missing = await handler(request());
      expect(missing.status).toBe(401);
      expect(missing.headers.get("www-authenticate")).toBe(`AgentPassport realm="${AUDIENCE}"`);
      expect(await missing.json()).toMatchObject({ ok: false, error: { code: "SDK_PASSPORT_MISSING" } });

      const foreign = await handler(
        request(`AgentPassport ${await sign(issuer.keys[0]!, { aud: "https://other.test" })}`),
      );
      expect(foreign.status).toBe(401);
      expect(foreign.headers.get("www-authenticate")).toContain(
        'error_description="PASSPORT_WRONG_AUDIENCE"',
      );
      expect(await foreign.json()).toMatchObject({ ok: false, error: { code: "PASSPORT_WRONG_AUDIENCE" } });

      const stranger = await issuer.addKey(false);
      const forged = await handler(request(`AgentPassport ${await sign(stranger)}`));
      expect(forged.status).toBe(401);
      expect(forged.headers.get("www-authenticate")).toContain("PASSPORT_UNKNOWN_KID");

      const expired = await sign(issuer.keys[0]!, { iat: 1_700_000_000, exp: 1_700_000_300 }, 1_700_000_000);
      const refused = await handler(request(`AgentPassport ${expired}`));
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toContain('error="invalid_token"');
      expect(await refused.json()).toMatchObject({ error: { code: "PASSPORT_EXPIRED" } });
    });

    test("503 with Retry-After when the issuer's keys were never reachable", async () => {
      const issuer = await createTestIssuer();
      issuer.mode = "down";
      const response = await mount(issuer.fetch)(request(`AgentPassport ${await sign(issuer.keys[0]!)}`));
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(await response.json()).toMatchObject({ ok: false, error: { code: "SDK_JWKS_UNAVAILABLE" } });
    });
  });
}
