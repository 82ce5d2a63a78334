/**
 * One SDK test server for a whole test file (started before its tests,
 * stopped after), and a fresh owner, site and agent for every test: login
 * events, pending requests and caches are per site and per agent, so no
 * test can receive another's outcome however the tests are ordered.
 */
import { afterAll, beforeAll, beforeEach } from "bun:test";
import type { TestServerOptions } from "../../../server/testing.ts";
import { type Provisioned, startSdkTestServer, type TestServer } from "./server.ts";

export interface FileServer {
  readonly server: TestServer;
  /** The owner, site and agent `provision()` registered for the running test. */
  readonly ids: Provisioned;
}

export function serverForFile(options: TestServerOptions = {}): FileServer {
  let server: TestServer | undefined;
  let ids: Provisioned | undefined;
  beforeAll(async () => {
    server = await startSdkTestServer(options);
  });
  beforeEach(async () => {
    ids = await started(server).provision();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get server() {
      return started(server);
    },
    get ids() {
      return started(ids);
    },
  };
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("serverForFile: used before its beforeAll/beforeEach ran");
  return value;
}
