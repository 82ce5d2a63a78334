/**
 * Regression: a malformed LIME_API_BASE or LIME_AGENT_TOKEN (a URL that
 * does not parse, a token with a space) exited 2, "usage", though nothing
 * was wrong with the command line; scripts that treat 4 as "fix the
 * deployment's configuration" missed it. Configuration the client refuses
 * is now exit 4, naming the variable, never printing its value.
 */
import { expect, test } from "bun:test";
import { type CliIo, EXIT, runCli } from "../../../sdk/cli/commands.ts";

function captured(env: Record<string, string>) {
  const err: string[] = [];
  const io: CliIo = {
    stdout: () => {},
    stderr: { write: (text) => err.push(text), isTTY: false },
    env: (name) => env[name],
    fetch: async () => Response.json({ ok: true, data: {} }),
  };
  return { io, err: () => err.join("") };
}

test("a LIME_API_BASE that is not a URL is exit 4", async () => {
  const c = captured({ LIME_API_BASE: "lime dot example", LIME_AGENT_TOKEN: "lime_agent_t" });
  expect(await runCli(["profile"], c.io)).toBe(EXIT.config);
  expect(c.err()).toContain("baseUrl");
  expect(c.err()).not.toContain("usage: lime");
});

test("a LIME_AGENT_TOKEN a header cannot carry is exit 4, and is not printed", async () => {
  const c = captured({ LIME_API_BASE: "https://lime.test", LIME_AGENT_TOKEN: "lime_agent_s3cr3t two" });
  expect(await runCli(["profile"], c.io)).toBe(EXIT.config);
  expect(c.err()).toContain("LIME_AGENT_TOKEN");
  expect(c.err()).not.toContain("s3cr3t");
});
