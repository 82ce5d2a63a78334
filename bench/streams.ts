/**
 * Event streams on one instance, alone (the backends section runs the same
 * measurement on PostgreSQL): `bun bench/streams.ts [--count 20000]
 * [--sqlite] [--outcomes 3]`. Prints one JSON object per run.
 */
import { rmSync } from "node:fs";
import { FLEET_METRICS_TOKEN, startInstance } from "../test/server/postgres/fleet.ts";
import { startPostgresServer } from "../test/server/postgres/postgres-server.ts";
import { childInDirectory } from "./lib/proc.ts";
import {
  measureStreamLoad,
  raiseDescriptorLimit,
  STREAM_SERVER_ENV,
  STREAMS_PER_SITE,
} from "./lib/stream-load.ts";

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const count = argument("--count", 5_000);
const outcomesPerSite = argument("--outcomes", 3);
const sqlite = process.argv.includes("--sqlite");

raiseDescriptorLimit(process.pid, 65_536);
const postgres = sqlite ? null : await startPostgresServer();
try {
  const kek = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const databaseUrl = postgres ? await postgres.createDatabase() : null;
  const instance = await startInstance(
    "streams",
    {
      databaseUrl: databaseUrl ?? "",
      publicUrl: "http://lime-bench.invalid",
      kek,
      extra: STREAM_SERVER_ENV,
    },
    60_000,
  );
  try {
    const pid = childInDirectory(instance.cwd);
    raiseDescriptorLimit(pid, 65_536);
    const result = await measureStreamLoad(
      count,
      { url: instance.url, port: instance.port, pid, metricsToken: FLEET_METRICS_TOKEN, databaseUrl },
      {
        perSite: STREAMS_PER_SITE,
        powDifficulty: 8,
        outcomesPerSite,
        approvalsAtOnce: 2,
        progress: (line) => console.error(`[streams] ${line}`),
      },
    );
    console.log(JSON.stringify({ backend: sqlite ? "sqlite" : "postgres", ...result }));
  } finally {
    await instance.kill("SIGTERM");
    rmSync(instance.cwd, { recursive: true, force: true });
  }
} finally {
  await postgres?.stop();
}
