/**
 * Revocation bench (issue 12): how long after the owner's revoke call the
 * site SDK refuses the agent's still-unexpired passport, by the two paths a
 * site learns it (docs/revocation.md):
 * - stream: a `SiteClient` with a live event stream (its list poll set to an
 *   hour, so only the `revoked` event can teach it);
 * - poll: a bare `PassportVerifier` (a guard without a stream) verifying
 *   every 10 ms with `pollIntervalMs` POLL_MS: the latency is the wait for its
 *   next poll plus one fetch, so about POLL_MS / 2 on average, at most POLL_MS.
 * Each sample is one revocation of a fresh agent that has just logged in.
 * The baseline, in the same process, is the revoke call's own round trip:
 * the stream path's ratio to it is the cost of the push.
 * No gates: a report. Run alone: `bun bench/revocation.ts [--short]`.
 */
import { AgentClient, PassportVerifier, SiteClient } from "@lime-ts/sdk";
import { systemClock } from "../server/clock.ts";
import { type Provisioned, startTestServer, type TestServer } from "../server/testing.ts";
import { formatSection } from "./lib/table.ts";
import type { BenchOptions, BenchRow, BenchSection } from "./lib/types.ts";

const POLL_MS = 1_000;
const HOUR = 3_600_000;

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summary(label: string, samples: number[], note: string): BenchRow[] {
  const sorted = [...samples].sort((a, b) => a - b);
  return [
    { label: `${label} median`, value: percentile(sorted, 0.5), unit: "ms", note },
    {
      label: `${label} p99`,
      value: percentile(sorted, 0.99),
      unit: "ms",
      note: `${samples.length} revocations`,
    },
  ];
}

async function refused(verify: () => Promise<unknown>): Promise<boolean> {
  try {
    await verify();
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === "PASSPORT_REVOKED") return true;
    throw error;
  }
}

/** Verifies every `everyMs` until refused; the time from `start` to the refusal. */
async function untilRefused(start: number, verify: () => Promise<unknown>, everyMs: number): Promise<number> {
  const deadline = start + 60_000;
  while (!(await refused(verify))) {
    if (performance.now() > deadline) throw new Error("the passport was never refused");
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return performance.now() - start;
}

async function revokeAgent(server: TestServer, ids: Provisioned): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/core/agents/${ids.agentId}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${ids.sessionToken}` },
  });
  if (response.status !== 204) throw new Error(`revoke answered ${response.status}`);
}

/** A fresh agent logged in to a fresh site: the passport the site holds. */
async function loggedIn(server: TestServer, site: (ids: Provisioned) => SiteClient) {
  const ids = await server.provision({ powDifficulty: 1 });
  const client = site(ids);
  const { requestId } = await client.createLoginRequest();
  const waiting = client.waitForLogin(requestId, { timeout: 20_000 });
  await new AgentClient({ baseUrl: server.url, agentToken: ids.agentToken }).login(requestId);
  await waiting;
  const { passportJwt } = await client.getLoginRequest(requestId);
  return { ids, client, requestId, jwt: passportJwt! };
}

export async function runRevocationBench(options: BenchOptions): Promise<BenchSection> {
  const count = options.short ? 5 : 20;
  const server = await startTestServer({
    clock: systemClock,
    publicUrlIsOwnUrl: true,
    config: { defaultPowDifficulty: 1 },
    extra: { startMaintenance: true },
  });
  const stream: number[] = [];
  const poll: number[] = [];
  const revokeCall: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      // Stream path: the site keeps its stream open with an onRevoked subscription.
      const a = await loggedIn(
        server,
        (ids) =>
          new SiteClient({
            baseUrl: server.url,
            siteToken: ids.siteToken,
            siteId: ids.siteId,
            revocation: { pollIntervalMs: HOUR },
          }),
      );
      const heard = a.client.onRevoked(() => {});
      await a.client.verifyPassport(a.jwt, { requestId: a.requestId });
      let start = performance.now();
      await revokeAgent(server, a.ids);
      revokeCall.push(performance.now() - start);
      stream.push(
        await untilRefused(start, () => a.client.verifyPassport(a.jwt, { requestId: a.requestId }), 1),
      );
      await heard.stop();
      await a.client.close();

      // Poll path: a verifier with no stream, as a guard uses it.
      const b = await loggedIn(
        server,
        (ids) =>
          new SiteClient({
            baseUrl: server.url,
            siteToken: ids.siteToken,
            siteId: ids.siteId,
            revocation: { enabled: false },
          }),
      );
      await b.client.close();
      const verifier = new PassportVerifier({
        issuer: server.url,
        audience: "lime-site-login",
        revocation: { pollIntervalMs: POLL_MS },
      });
      const bound = { requestId: b.requestId, siteId: b.ids.siteId };
      await verifier.verify(b.jwt, bound);
      // Revoke at a random point of the poll cycle, as a real revocation falls.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * POLL_MS));
      start = performance.now();
      await revokeAgent(server, b.ids);
      poll.push(await untilRefused(start, () => verifier.verify(b.jwt, bound), 10));
    }
  } finally {
    await server.stop();
  }
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
  const rows: BenchRow[] = [
    ...summary("stream: revoke → refusal", stream, "SiteClient with a live event stream"),
    ...summary("poll: revoke → refusal", poll, `bare PassportVerifier, pollIntervalMs ${POLL_MS}`),
    ...summary("baseline: the revoke call", revokeCall, "owner DELETE round trip"),
    {
      label: "stream median / revoke call median",
      value: median(stream) / median(revokeCall),
      unit: "x",
      note: "the push's cost beyond the call itself",
    },
  ];
  return { name: "revocation", runtime: `bun ${Bun.version}`, rows, gates: [] };
}

if (import.meta.main) {
  const args = new Set(process.argv.slice(2));
  const section = await runRevocationBench({ short: args.has("--short") });
  console.log(formatSection(section, () => true));
}
