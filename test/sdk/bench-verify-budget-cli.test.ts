/**
 * `bun run bench:verify` as a site team first runs it: against their issuer,
 * often before they have exported an agent token. A missing setting is one
 * line naming it and a non-zero exit, not a stack trace.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

async function bench(argv: string[], env: Record<string, string | undefined>) {
  const child = Bun.spawn([process.execPath, "bench/verify-budget.ts", ...argv], {
    cwd: root,
    env: { ...process.env, LIME_AGENT_TOKEN: undefined, LIME_ADMIN_TOKEN: undefined, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, out: stdout + stderr };
}

test("--issuer without LIME_AGENT_TOKEN: exit 2 with one line naming the variable, no stack trace", async () => {
  // Nothing listens on port 9: the run must stop before any request.
  const { code, out } = await bench(["--issuer", "http://127.0.0.1:9"], {});
  expect(code).toBe(2);
  expect(out).toContain("bench:verify: --issuer needs LIME_AGENT_TOKEN");
  expect(out).not.toMatch(/^\s+at /m);
  expect(out.trim().split("\n")).toHaveLength(1);
});

test("an issuer that cannot be reached: exit 3 with the SDK's code, no stack trace", async () => {
  const { code, out } = await bench(["--short", "--issuer", "http://127.0.0.1:9"], {
    LIME_AGENT_TOKEN: "lime_agent_not-a-real-token",
  });
  expect(code).toBe(3);
  expect(out).toContain("bench:verify: SDK_NETWORK_ERROR");
  expect(out).not.toMatch(/^\s+at /m);
  expect(out).not.toContain("not-a-real-token");
}, 30_000);
