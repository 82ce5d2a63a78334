/** One SDK test server and one provisioned owner for a whole test file: started before its tests, stopped after. */
import { afterAll, beforeAll } from "bun:test";
import type { TestServerOptions } from "../../../server/testing.ts";
import { type Provisioned, startSdkTestServer, type TestServer } from "./server.ts";

export interface FileServer {
  readonly server: TestServer;
  /** The owner, site and agent `provision()` registered. */
  readonly ids: Provisioned;
}

export function serverForFile(options: TestServerOptions = {}): FileServer {
  let server: TestServer | undefined;
  let ids: Provisioned | undefined;
  beforeAll(async () => {
    server = await startSdkTestServer(options);
    ids = await server.provision();
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
  if (value === undefined) throw new Error("serverForFile: used before its beforeAll ran");
  return value;
}
