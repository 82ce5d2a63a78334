/**
 * A bench server in its own process, so the load generator does not share an
 * event loop with it. Prints one JSON line with its URL and two provisioned
 * sites (one per PoW difficulty) and an agent, then serves until stdin closes,
 * answering each line on stdin with its CPU time so far.
 */
import { systemClock } from "../../server/clock.ts";
import { startTestServer } from "../../server/testing.ts";

const realisticDifficulty = Number(process.argv[2] ?? 15);
const server = await startTestServer({ clock: systemClock, config: { adminToken: "bench-admin-token" } });
const realistic = await server.provision({ powDifficulty: realisticDifficulty });
const trivial = await server.provision({ powDifficulty: 1 });
console.log(
  JSON.stringify({
    url: server.url,
    agentToken: realistic.agentToken,
    sites: [
      { difficulty: realisticDifficulty, siteToken: realistic.siteToken },
      { difficulty: 1, siteToken: trivial.siteToken },
    ],
    trivialAgentToken: trivial.agentToken,
  }),
);
// Each line the parent writes asks for this process's CPU time so far, in
// microseconds, answered as one line on stdout; the loop ends when the parent
// closes stdin or exits.
for await (const chunk of process.stdin) {
  for (const _ of String(chunk).matchAll(/\n/g)) {
    const { user, system } = process.cpuUsage();
    console.log(user + system);
  }
}
await server.stop();
process.exit(0);
