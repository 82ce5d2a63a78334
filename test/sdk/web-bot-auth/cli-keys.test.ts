/**
 * `lime keys generate|register|list|revoke`, live: the private key travels
 * in LIME_AGENT_KEY (never an argument), and with it `lime passport` prints
 * a key-bound passport.
 */
import { describe, expect, test } from "bun:test";
import { type CliIo, EXIT, runCli } from "../../../sdk/cli/commands.ts";
import { peekJwtBoundKey } from "../../../sdk/internal/jwt-peek.ts";
import { serverForFile } from "../helpers/server-for-file.ts";

const lime = serverForFile();

function captured(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: { write: (text) => err.push(text), isTTY: false },
    env: (name) => env[name],
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

async function generated(kind?: string): Promise<{ kid: string; d: string; crv: string }> {
  const c = captured();
  expect(await runCli(["keys", "generate", ...(kind ? ["--kind", kind] : [])], c.io)).toBe(EXIT.ok);
  return JSON.parse(c.out());
}

describe("lime keys", () => {
  test("generate prints a private JWK with its kid; --kind p-256; anything else is usage", async () => {
    const ed = await generated();
    expect(ed).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: expect.stringMatching(/^[\w-]{43}$/) });
    expect(ed.d).toMatch(/^[\w-]{43}$/);
    expect(await generated("p-256")).toMatchObject({ kty: "EC", crv: "P-256", y: expect.any(String) });
    expect(await runCli(["keys", "generate", "--kind", "rsa"], captured().io)).toBe(EXIT.usage);
  });

  test("register, list, a bound passport, revoke", async () => {
    const jwk = await generated();
    const env = {
      LIME_API_BASE: lime.server.url,
      LIME_AGENT_TOKEN: lime.ids.agentToken,
      LIME_AGENT_KEY: JSON.stringify(jwk),
    };
    const registered = captured(env);
    expect(await runCli(["keys", "register", "--label", "cli"], registered.io)).toBe(EXIT.ok);
    expect(JSON.parse(registered.out())).toMatchObject({ kid: jwk.kid, label: "cli", status: "ACTIVE" });
    expect(registered.out()).not.toContain(jwk.d);

    const listed = captured(env);
    expect(await runCli(["keys", "list"], listed.io)).toBe(EXIT.ok);
    expect(JSON.parse(listed.out())).toEqual([expect.objectContaining({ kid: jwk.kid, status: "ACTIVE" })]);

    const passport = captured(env);
    expect(await runCli(["passport", "--audience", "https://shop.test"], passport.io)).toBe(EXIT.ok);
    expect(peekJwtBoundKey(passport.out().trim())).toBe(jwk.kid);

    expect(await runCli(["keys", "revoke", jwk.kid], captured(env).io)).toBe(EXIT.ok);
    const again = captured(env);
    expect(await runCli(["keys", "revoke", jwk.kid], again.io)).toBe(EXIT.refused);
    expect(again.err()).toContain("AGENT_KEY_NOT_FOUND");
  });

  test("register without LIME_AGENT_KEY, or with one that is no key, is a configuration error (exit 4)", async () => {
    const base = { LIME_API_BASE: lime.server.url, LIME_AGENT_TOKEN: lime.ids.agentToken };
    const none = captured(base);
    expect(await runCli(["keys", "register"], none.io)).toBe(EXIT.config);
    expect(none.err()).toContain("LIME_AGENT_KEY");
    for (const bad of [
      "not json",
      JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "abc", d: "secret-ish" }),
    ]) {
      const c = captured({ ...base, LIME_AGENT_KEY: bad });
      expect(await runCli(["keys", "register"], c.io)).toBe(EXIT.config);
      expect(c.err()).not.toContain("secret-ish");
    }
    expect(await runCli(["keys", "revoke"], captured(base).io)).toBe(EXIT.usage);
  });
});
