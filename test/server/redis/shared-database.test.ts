/**
 * Several instances share one SQLite file, so the single-use steps must hold
 * across connections in parallel threads, not only across awaits in one
 * process (where bun:sqlite's synchronous calls serialize everything).
 */

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores } from "../../../server/infrastructure/sqlite/stores.ts";
import { site, user } from "../stores/conformance.ts";

const WORKERS = 4;
const REQUESTS = 40;

test("approvals raced by four connections in parallel threads: exactly one winner per request, one outcome each", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lime-shared-db-"));
  const path = join(dir, "lime.sqlite");
  const workers: Worker[] = [];
  try {
    const db = openDatabase(path);
    const stores = createSqliteStores(db);
    const owner = user();
    await stores.users.create(owner);
    const record = site(owner.id);
    await stores.sites.create(record);
    const now = Date.now();
    const ids = Array.from({ length: REQUESTS }, () => crypto.randomUUID());
    for (const id of ids) {
      await stores.agentLogin.create({
        id,
        siteId: record.id,
        status: "PENDING",
        powChallenge: "ab".repeat(32),
        powDifficulty: 8,
        redirectUrl: null,
        createdAt: now,
        expiresAt: now + 300_000,
        approvedAgentId: null,
        approvedAt: null,
        passportJwt: null,
        passportExpiresAt: null,
        deliveredAt: null,
        challengeShownAt: null,
      });
    }

    const results = await Promise.all(
      Array.from({ length: WORKERS }, (_, worker) => {
        const thread = new Worker(new URL("./approve-worker.ts", import.meta.url));
        workers.push(thread);
        return new Promise<string[]>((resolve, reject) => {
          thread.onmessage = (message: MessageEvent<string[]>) => resolve(message.data);
          thread.onerror = (error) => reject(error);
          // Each worker walks the requests in a different order, so they collide all along.
          const order = worker % 2 === 0 ? ids : [...ids].reverse();
          thread.postMessage({ path, ids: order, now: now + 1000, worker });
        });
      }),
    );

    const wins = results.flat();
    expect(wins.sort()).toEqual([...ids].sort());
    const events = await stores.agentLogin.undeliveredEvents(record.id, now);
    expect(events.map((e) => e.loginRequestId).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const stored = await stores.agentLogin.findById(id);
      const winner = results.findIndex((won) => won.includes(id));
      expect(stored?.passportJwt).toBe(`jwt-${winner}-${id}`);
    }
    db.close();
  } finally {
    for (const thread of workers) thread.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
});
