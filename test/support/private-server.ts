/**
 * What the private servers of the test suite (redis-server, PostgreSQL) have
 * in common: binding a free loopback port that another process may take
 * between the probe and the bind, and a `describe` block that owns one
 * server for its tests, skipped with a notice where the binary is missing,
 * except under CI, where `.ci/run` installs it and its absence fails.
 */

import { afterAll, beforeAll, describe, test } from "bun:test";
import { freePort } from "../../server/testing.ts";

/** Calls `startOn` with a free port, trying a few times; returns the port it started on. */
export async function startOnFreePort(
  startOn: (port: number) => Promise<void>,
  attempts = 3,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await startOn(port);
      return port;
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}

export interface PrivateServerKind<T extends { stop(): Promise<void> }> {
  /** "redis-server", "PostgreSQL": names it in notices. */
  name: string;
  available: boolean;
  /** How to install it, e.g. "apt-get install -y redis-server". */
  install: string;
  start(): Promise<T>;
  /** How long starting may take (initdb is slower than redis-server). */
  startTimeoutMs?: number;
}

export function describeWithPrivateServer<T extends { stop(): Promise<void> }>(
  title: string,
  kind: PrivateServerKind<T>,
  body: (server: () => T) => void,
): void {
  if (!kind.available) {
    if (process.env.CI) {
      test(`${title}: ${kind.name} is required under CI`, () => {
        throw new Error(`${kind.name} not found; .ci/run installs it (${kind.install})`);
      });
      return;
    }
    console.warn(`[${kind.name}] ${title}: skipped, ${kind.name} is not installed (${kind.install})`);
    describe.skip(title, () =>
      body(() => {
        throw new Error("unreachable");
      }),
    );
    return;
  }
  describe(title, () => {
    let server: T | undefined;
    beforeAll(async () => {
      server = await kind.start();
    }, kind.startTimeoutMs);
    afterAll(async () => {
      await server?.stop();
    });
    body(() => {
      if (!server) throw new Error(`${kind.name} did not start`);
      return server;
    });
  });
}
