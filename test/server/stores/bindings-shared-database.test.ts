/**
 * Binding decisions raced by several connections to one SQLite file in
 * parallel threads: bun:sqlite's calls are synchronous, so racing awaits in
 * one process (the conformance suite) never truly overlap; threads do.
 */

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores } from "../../../server/infrastructure/sqlite/stores.ts";
import { agent, bindingRequest, site, user } from "./conformance.ts";

const WORKERS = 4;
const REQUESTS = 40;

test("completions and denials raced by four connections in parallel threads: each request decided exactly once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lime-binding-race-"));
  const path = join(dir, "lime.sqlite");
  const workers: Worker[] = [];
  try {
    const db = openDatabase(path);
    const stores = createSqliteStores(db);
    const owner = user();
    await stores.users.create(owner);
    const record = site(owner.id);
    await stores.sites.create(record);
    const agentId = crypto.randomUUID();
    await stores.agents.create(agent(owner.id, { id: agentId }));
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const binding = bindingRequest(record.id, { createdAt: now, expiresAt: now + 600_000 });
      await stores.bindings.create(binding);
      ids.push(binding.id);
    }

    const results = await Promise.all(
      Array.from({ length: WORKERS }, (_, worker) => {
        const thread = new Worker(new URL("./binding-race-worker.ts", import.meta.url));
        workers.push(thread);
        return new Promise<string[]>((resolve, reject) => {
          thread.onmessage = (message: MessageEvent<string[]>) => resolve(message.data);
          thread.onerror = (error) => reject(error);
          // Each worker walks the requests in a different order, so they collide all along.
          const order = worker % 2 === 0 ? ids : [...ids].reverse();
          thread.postMessage({ path, ids: order, agentId, ownerId: owner.id, now: now + 1000, worker });
        });
      }),
    );

    const wins = results.flat();
    expect(wins.sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const stored = await stores.bindings.findById(id);
      const winner = results.findIndex((won) => won.includes(id));
      expect(stored?.status).toBe(winner % 2 === 0 ? "COMPLETED" : "DENIED");
      expect(stored?.agentId).toBe(winner % 2 === 0 ? agentId : null);
    }
    db.close();
  } finally {
    for (const thread of workers) thread.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
