/**
 * Regression: on-demand rotation, documented as the response to a suspected
 * compromise of the signing key, kept the old key in the JWKS until every
 * passport it signed had expired (PASSPORT_TTL_SECONDS + 5 min, up to a
 * day): whoever held the key could go on minting passports that verified.
 * `revoke_current` now drops it from the JWKS at once.
 */

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { verifyPassport } from "@lime-ts/core/passport";
import { FakeClock, type Provisioned, type TestServer } from "../../../server/testing.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { api, startProvisioned } from "../helpers.ts";

const ADMIN = "admin-token-for-security-tests-0123456789";

let t: TestServer;
let p: Provisioned;
let clock: FakeClock;

beforeEach(async () => {
  clock = new FakeClock();
  ({ t, p } = await startProvisioned({ clock, config: { adminToken: ADMIN } }));
});
afterEach(async () => {
  await t.stop();
});

const kidOf = (jwt: string) => JSON.parse(atob(jwt.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))).kid;
const passport = async () =>
  (await api(t.url, "/api/v1/core/passports", { method: "POST", headers: { "x-agent-token": p.agentToken } }))
    .body.data.passport as string;
const jwksKids = async () =>
  (await api(t.url, "/.well-known/jwks.json")).body.keys.map((k: { kid: string }) => k.kid) as string[];
const rotate = (json?: unknown) =>
  api(t.url, "/api/v1/admin/keys/rotate", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
    ...(json === undefined ? {} : { json }),
  });

describe("rotation for a compromised signing key", () => {
  test(
    "revoke_current removes the old key from the JWKS at once; its passports stop verifying",
    async () => {
      const forgedLater = await passport();
      const compromised = kidOf(forgedLater);

      const rotated = await rotate({ revoke_current: true });
      expect(rotated.status).toBe(200);
      expect(rotated.body.data.retired_kid).toBe(compromised);

      const jwks = (await api(t.url, "/.well-known/jwks.json")).body;
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).not.toContain(compromised);
      const options = {
        issuer: t.config.publicUrl,
        audience: "lime-passport",
        now: Math.floor(clock.now() / 1000),
      };
      await expect(verifyPassport(forgedLater, jwks, options)).rejects.toMatchObject({
        code: "PASSPORT_UNKNOWN_KID",
      });
      const fresh = await passport();
      expect(kidOf(fresh)).toBe(rotated.body.data.current_kid);
      expect((await verifyPassport(fresh, jwks, options)).agentId).toBe(p.agentId);

      const system = await api(t.url, "/api/v1/admin/audit", {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(system.body.data.events[0].reason).toBe(`on_demand_revoking:${compromised}`);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "a plain rotation still keeps the old key published for its live passports",
    async () => {
      const old = kidOf(await passport());
      expect((await rotate()).status).toBe(200);
      expect(await jwksKids()).toContain(old);
      expect((await rotate({ revoke_current: false })).status).toBe(200);
      expect(await jwksKids()).toContain(old);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("revoke_current must be a boolean", async () => {
    const refused = await rotate({ revoke_current: "yes" });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("VALIDATION_FAILED");
  });
});
