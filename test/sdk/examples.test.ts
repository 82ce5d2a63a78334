/** The examples run as docs/sdk.md says: one command each, a throwaway LIME server, a demo agent, exit 0. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const child = Bun.spawn([process.execPath, ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...process.env,
      LIME_API_BASE: "",
      LIME_SITE_TOKEN: "",
      LIME_AGENT_TOKEN: "",
      LIME_LOG_LEVEL: "warn",
    },
  });
  const [out, err] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code: await child.exited, out: out + err };
}

describe("examples", () => {
  for (const example of ["examples/elysia-site.ts", "examples/fetch-site.ts"]) {
    test(`bun ${example} --once: the agent signs in and the passport-protected route answers 200, 401 without`, async () => {
      const { code, out } = await run([example, "--once"]);
      expect(out).toContain("GET /api/whoami with a passport -> 200");
      expect(out).toContain(
        'GET /api/whoami without one -> 401, WWW-Authenticate: AgentPassport realm="http://127.0.0.1:',
      );
      expect(out).toMatch(/signedIn: "[0-9a-f-]{36}"/);
      expect(code).toBe(0);
    }, 60_000);
  }

  test("examples/agent.ts without configuration prints its usage and exits 2", async () => {
    const { code, out } = await run(["examples/agent.ts"]);
    expect(code).toBe(2);
    expect(out).toContain("usage:");
  });
});
