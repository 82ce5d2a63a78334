/**
 * The LIME server the SDK tests, the examples and the verification bench run
 * against: server/testing.ts's test server, set up as the SDKs meet a
 * deployment. It runs on the wall clock (the SDKs time tokens and passports
 * by their own), its issuer is the URL clients call (the site SDK checks
 * `iss` against it), it has an admin token so `rotateKeys()` works, and its
 * maintenance timer runs (expiry, scheduled rotation) as in production.
 */
import { systemClock } from "../../../server/clock.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "../../../server/testing.ts";

export type { Provisioned, TestServer } from "../../../server/testing.ts";

export function startSdkTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  return startTestServer({
    clock: systemClock,
    publicUrlIsOwnUrl: true,
    ...options,
    config: { adminToken: crypto.randomUUID(), defaultPowDifficulty: 12, ...options.config },
    extra: { startMaintenance: true, ...options.extra },
  });
}
