/**
 * The fan-out's two ways of closing a gap, each tested alone. One connection
 * is held down while the others stay up: its ACL user is switched off and
 * its connection killed, so its reconnects fail until the user is switched
 * back on. (Restarting Redis would break every connection at once and let
 * either mechanism hide the other; two-instances.test.ts does that.)
 */

import type { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  closeRedis,
  connectRedis,
  type RedisClient,
} from "../../../server/infrastructure/redis/connection.ts";
import {
  createRedisOutcomeFanout,
  type RedisOutcomeFanout,
} from "../../../server/infrastructure/redis/outcome-fanout.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import { createSqliteStores, type Stores } from "../../../server/infrastructure/sqlite/stores.ts";
import { FakeClock } from "../../../server/testing.ts";
import { describeWithRedis } from "./redis-server.ts";
import { approvedOutcome, capturingLogger, collect } from "./support.ts";

describeWithRedis("Redis fan-out recovery", (redis) => {
  const logger = capturingLogger();
  const clock = new FakeClock();
  const opened: RedisClient[] = [];
  const fanouts: RedisOutcomeFanout[] = [];
  let admin: RedisClient;
  let db: Database;
  let stores: Stores;

  const connection = async (name: string, user?: string) => {
    const url = user === undefined ? redis().url : redis().url.replace("redis://", `redis://${user}:pw@`);
    const client = await connectRedis({ url, logger, name, maxReconnectDelayMs: 100 });
    opened.push(client);
    return client;
  };

  const fanout = async (publisher: RedisClient, subscriber: RedisClient, channel: string) => {
    const created = await createRedisOutcomeFanout({
      publisher,
      subscriber,
      events: stores.agentLogin,
      clock,
      logger,
      channel,
    });
    fanouts.push(created);
    return created;
  };

  /** Cuts the user's connections and refuses its reconnects until `restore()`. */
  const holdDown = async (user: string, client: RedisClient) => {
    await admin.sendCommand(["ACL", "SETUSER", user, "off"]);
    await admin.sendCommand(["CLIENT", "KILL", "USER", user]);
    while (client.isReady) await Bun.sleep(5);
    return { restore: () => admin.sendCommand(["ACL", "SETUSER", user, "on"]) };
  };

  beforeAll(async () => {
    db = openDatabase(":memory:");
    stores = createSqliteStores(db);
    admin = await connection("admin");
    for (const user of ["publisher-b", "subscriber-a"]) {
      await admin.sendCommand(["ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all"]);
    }
  });

  afterAll(async () => {
    for (const created of fanouts) await created.close();
    await Promise.all(opened.map(closeRedis));
    db.close();
  });

  test("a notification B could not publish is sent once B's connection is back", async () => {
    const channel = `c-${crypto.randomUUID()}`;
    const a = await fanout(await connection("a-pub"), await connection("a-sub"), channel);
    const bPublisher = await connection("b-pub", "publisher-b");
    const b = await fanout(bPublisher, await connection("b-sub"), channel);
    const event = await approvedOutcome(stores, clock);
    // Already delivered elsewhere, so the replay on a reconnect could not be what brings it here.
    await stores.agentLogin.markDelivered(event.id, clock.now());
    const onA = collect(a, event.siteId);

    const outage = await holdDown("publisher-b", bPublisher);
    b.publish(event);
    await Bun.sleep(20);
    expect(onA.events).toEqual([]);
    await outage.restore();

    const arrived = await onA.next();
    expect(arrived.id).toBe(event.id);
    expect(arrived.passportJwt).toBe(event.passportJwt);
  });

  test("a subscriber that was away gets its sites' undelivered outcomes replayed when it is back", async () => {
    const channel = `c-${crypto.randomUUID()}`;
    const aSubscriber = await connection("a-sub", "subscriber-a");
    const a = await fanout(await connection("a-pub"), aSubscriber, channel);
    const b = await fanout(await connection("b-pub"), await connection("b-sub"), channel);
    const spy = await connection("spy");
    let published = 0;
    await spy.subscribe(channel, () => {
      published += 1;
    });
    const event = await approvedOutcome(stores, clock);
    const onA = collect(a, event.siteId);

    const outage = await holdDown("subscriber-a", aSubscriber);
    b.publish(event);
    while (published === 0) await Bun.sleep(5);
    expect(onA.events).toEqual([]);
    await outage.restore();

    expect(await onA.next()).toEqual(event);
    await spy.unsubscribe(channel);
  });
});
