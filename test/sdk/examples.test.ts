/** The examples run as docs/sdk.md says: one command each, a throwaway LIME server, a demo agent, exit 0. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";

const root = join(import.meta.dir, "..", "..");

const exampleEnv = (extra: Record<string, string> = {}) => ({
  ...process.env,
  LIME_API_BASE: "",
  LIME_SITE_TOKEN: "",
  LIME_AGENT_TOKEN: "",
  LIME_ISSUER: "",
  LIME_PORT: "",
  MCP_PORT: "",
  LIME_LOG_LEVEL: "warn",
  ...extra,
});

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const child = Bun.spawn([process.execPath, ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: exampleEnv(env),
  });
  const [out, err] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code: await child.exited, out: out + err };
}

describe("examples", () => {
  for (const example of ["examples/elysia-site.ts", "examples/fetch-site.ts"]) {
    test(
      `bun ${example} --once: the agent signs in and the passport-protected route answers 200, 401 without`,
      async () => {
        const { code, out } = await run([example, "--once"]);
        expect(out).toContain("GET /api/whoami with a passport -> 200");
        expect(out).toContain(
          'GET /api/whoami without one -> 401, WWW-Authenticate: AgentPassport realm="http://127.0.0.1:',
        );
        expect(out).toMatch(/signedIn: "[0-9a-f-]{36}"/);
        expect(out).toMatch(/GET \/api\/whoami signed with key [\w-]{43} -> 200/);
        expect(out).toContain("its key-bound passport without the signature -> 401 SIGNATURE_MISSING");
        expect(code).toBe(0);
      },
      SLOW_TEST_TIMEOUT_MS,
    );
  }

  test("bun examples/binding-site.ts --once: decline, then connect: the site shows the agent; a forwarded callback is refused", async () => {
    const { code, out } = await run(["examples/binding-site.ts", "--once"]);
    expect(out).toMatch(/"Connect your agent" -> 303 to http:\/\/127\.0\.0\.1:\d+\/connect\?binding_id=/);
    expect(out).toContain("[site] You declined: no agent was connected.");
    expect(out).toMatch(/\[site\] Agent connected\. Connected agent [0-9a-f-]{36}\./);
    expect(out).toContain("[other browser] a callback for a connection it did not start -> 400");
    expect(code).toBe(0);
  }, 60_000);

  test("examples/agent.ts without configuration prints its usage and exits 2", async () => {
    const { code, out } = await run(["examples/agent.ts"]);
    expect(code).toBe(2);
    expect(out).toContain("usage:");
  });
});

/** Listens on `port` of loopback; null when something else holds it already (busy either way). */
function hold(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(null));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const release = (server: Server | null) =>
  new Promise<void>((done) => (server ? server.close(() => done()) : done()));

/** A private TMPDIR for the child, so what it leaves behind is visible. */
async function withTmpdir(use: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "lime-example-test-"));
  try {
    await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("examples/mcp-server (bun run example:mcp)", () => {
  test("with 3000 and 3001 taken (the README's server) it takes free ports, prints them, and cleans up", async () => {
    const held = await Promise.all([hold(3000), hold(3001)]);
    try {
      await withTmpdir(async (dir) => {
        const { code, out } = await run(["examples/mcp-server/main.ts", "--once"], { TMPDIR: dir });
        expect(out).toMatch(/LIME identity server: http:\/\/127\.0\.0\.1:\d+/);
        expect(out).toMatch(/MCP server: +http:\/\/127\.0\.0\.1:\d+\/mcp/);
        expect(out).not.toContain("127.0.0.1:3000");
        expect(out).not.toContain("127.0.0.1:3001/");
        expect(out).toContain('"principal":"agent"');
        expect(code).toBe(0);
        expect(readdirSync(dir)).toEqual([]);
      });
    } finally {
      await Promise.all(held.map(release));
    }
  }, 60_000);

  test("a LIME_PORT that is taken: exit 1 naming the port, nothing left behind", async () => {
    const busy = await hold(0);
    const port = (busy!.address() as { port: number }).port;
    try {
      await withTmpdir(async (dir) => {
        const { code, out } = await run(["examples/mcp-server/main.ts", "--once"], {
          TMPDIR: dir,
          LIME_PORT: String(port),
        });
        expect(out).toContain(`port ${port} is already in use`);
        expect(out).not.toMatch(/^\s+at /m);
        expect(code).toBe(1);
        expect(readdirSync(dir)).toEqual([]);
      });
    } finally {
      await release(busy);
    }
  }, 60_000);

  test("Ctrl-C stops both servers and removes the temporary database", async () => {
    await withTmpdir(async (dir) => {
      const child = Bun.spawn([process.execPath, "examples/mcp-server/main.ts"], {
        cwd: root,
        stdout: "pipe",
        stderr: "pipe",
        env: exampleEnv({ TMPDIR: dir }),
      });
      let out = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        out += decoder.decode(chunk);
        if (out.includes("Ctrl-C stops")) break;
      }
      expect(out).toContain("Ctrl-C stops");
      const issuer = /LIME identity server: (http:\/\/\S+)/.exec(out)![1]!;
      const mcp = /MCP server: +(http:\/\/\S+)/.exec(out)![1]!;
      expect(readdirSync(dir)).toHaveLength(1);
      child.kill("SIGINT");
      expect(await child.exited).toBe(0);
      expect(readdirSync(dir)).toEqual([]);
      for (const url of [issuer, mcp]) {
        await expect(fetch(url)).rejects.toThrow();
      }
    });
  }, 60_000);
});
