/**
 * Regression: the CLI wrote the server's error code and message (and the
 * status of a login request) to the terminal as they came. A hostile server,
 * or anything answering in its place (a proxy's error page is enough),
 * could send escape sequences: retitle the window, clear or rewrite what
 * the operator sees, on some terminals more. Control characters in text
 * from the server are now shown escaped, and `passport` prints only a
 * token of JWT characters.
 */
import { expect, test } from "bun:test";
import { type CliIo, EXIT, runCli } from "../../../sdk/cli/commands.ts";

const ESCAPES = "\u001b]0;owned\u0007\u001b[2J\u009b31m\r";

function cliWith(respond: () => Response) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: { write: (text) => err.push(text), isTTY: true },
    env: (name) => ({ LIME_API_BASE: "https://lime.test", LIME_AGENT_TOKEN: "lime_agent_test" })[name],
    fetch: async () => respond(),
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

/** C0 controls but the line feed, DEL and C1 (U+009B is a one-character CSI on some terminals). */
function controlsIn(text: string): string[] {
  return [...text].filter((ch) => {
    const c = ch.codePointAt(0)!;
    return (c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f);
  });
}

test("a server error's code and message reach the terminal without control characters", async () => {
  const c = cliWith(() =>
    Response.json(
      { ok: false, error: { code: `NOPE${ESCAPES}`, message: `denied${ESCAPES}`, detail: {} } },
      { status: 403 },
    ),
  );
  expect(await runCli(["profile"], c.io)).toBe(EXIT.refused);
  expect(c.err()).toContain("denied");
  expect(controlsIn(c.err())).toEqual([]);
});

test("a login request status from the server reaches the terminal without control characters", async () => {
  const challenge = {
    login_request_id: "r1",
    status: `EXPIRED${ESCAPES}`,
    pow_challenge: "a".repeat(64),
    pow_difficulty: 4,
    pow_algorithm: "sha256",
    expires_at: "2099-01-01T00:00:00Z",
    site: { site_id: "s1", display_name: "Shop" },
  };
  const c = cliWith(() => Response.json({ ok: true, data: challenge }));
  expect(await runCli(["login", "r1"], c.io)).toBe(EXIT.refused);
  expect(controlsIn(c.err())).toEqual([]);
});

test("passport prints nothing but a JWT", async () => {
  const c = cliWith(() =>
    Response.json({ ok: true, data: { passport: `a.b.c${ESCAPES}`, expires_at: "2099-01-01T00:00:00Z" } }),
  );
  expect(await runCli(["passport"], c.io)).not.toBe(EXIT.ok);
  expect(c.out()).toBe("");
  expect(controlsIn(c.err())).toEqual([]);
});

test("JSON results carry no raw DEL or C1 characters either", async () => {
  const profile = {
    agent_id: "a",
    owner_id: "o",
    display_name: `Agent${ESCAPES}`,
    owner_kyc_level: 1,
    agent_reputation: 0,
  };
  const c = cliWith(() => Response.json({ ok: true, data: profile }));
  expect(await runCli(["profile"], c.io)).toBe(EXIT.ok);
  expect(controlsIn(c.out())).toEqual([]);
  expect(JSON.parse(c.out()).displayName).toBe(`Agent${ESCAPES}`);
});
