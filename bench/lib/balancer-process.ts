/**
 * The fleet tests' round-robin TCP balancer (test/server/postgres/fleet.ts)
 * in a process of its own, so that piping a fleet's traffic neither takes
 * the load generator's event loop nor hides in its CPU time.
 *
 * Usage: `bun bench/lib/balancer-process.ts PORT...` (the instances' ports).
 * Prints the balancer's URL as one line, then runs until stdin closes.
 */
import { type FleetInstance, startBalancer } from "../../test/server/postgres/fleet.ts";

const ports = process.argv.slice(2).map(Number);
const balancer = await startBalancer();
// The balancer reads only an instance's name and port.
balancer.setBackends(ports.map((port) => ({ name: String(port), port }) as FleetInstance));
console.log(balancer.url);
for await (const _ of process.stdin) {
  // Nothing to answer: the loop ends when the parent closes stdin or exits.
}
await balancer.close();
process.exit(0);
