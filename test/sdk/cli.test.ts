import { describe, expect, test } from "bun:test";
import { verify } from "@lime-ts/core/pow";
import { SiteClient } from "@lime-ts/sdk";
import { type CliIo, EXIT, runCli } from "../../sdk/cli/commands.ts";
import { createProgressBar, formatProgress } from "../../sdk/cli/progress.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";
import { serverForFile } from "./helpers/server-for-file.ts";
import { siteClientsClosedAfterEach } from "./helpers/site-clients.ts";

const lime = serverForFile();
const closedAfterTest = siteClientsClosedAfterEach();

function captured(env: Record<string, string> = {}, isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: { write: (text) => err.push(text), isTTY },
    env: (name) => env[name],
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

const agentEnv = () => ({ LIME_API_BASE: lime.server.url, LIME_AGENT_TOKEN: lime.ids.agentToken });

describe("lime CLI against a real server", () => {
  test("login <request-id> approves the request and prints the approval as JSON", async () => {
    const site = closedAfterTest(new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken }));
    const { requestId } = await site.createLoginRequest();
    const waiting = site.waitForLogin(requestId, { timeout: 10_000 });
    const c = captured(agentEnv());
    expect(await runCli(["login", requestId], c.io)).toBe(EXIT.ok);
    expect(JSON.parse(c.out())).toMatchObject({
      requestId,
      approvedAgentId: lime.ids.agentId,
      status: "APPROVED",
    });
    expect((await waiting).agentId).toBe(lime.ids.agentId);
    await site.close();
  });

  test("a second login of the same request is refused: exit 1 with the server's code on stderr", async () => {
    const site = closedAfterTest(new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken }));
    const { requestId } = await site.createLoginRequest();
    expect(await runCli(["login", requestId], captured(agentEnv()).io)).toBe(EXIT.ok);
    const c = captured(agentEnv());
    expect(await runCli(["login", requestId], c.io)).toBe(EXIT.refused);
    expect(c.err()).toContain("LOGIN_REQUEST_ALREADY_APPROVED (HTTP 409)");
    expect(c.out()).toBe("");
  });

  test("profile and passport", async () => {
    const p = captured(agentEnv());
    expect(await runCli(["profile"], p.io)).toBe(EXIT.ok);
    expect(JSON.parse(p.out())).toMatchObject({ agentId: lime.ids.agentId });
    const j = captured(agentEnv());
    expect(await runCli(["passport", "--audience", "https://shop.test"], j.io)).toBe(EXIT.ok);
    expect(j.out()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  test("a wrong agent token is exit 1 with INVALID_AGENT_TOKEN; the token never appears in the output", async () => {
    const c = captured({ LIME_API_BASE: lime.server.url, LIME_AGENT_TOKEN: "lime_agent_secret-value" });
    expect(await runCli(["profile"], c.io)).toBe(EXIT.refused);
    expect(c.err()).toContain("INVALID_AGENT_TOKEN");
    expect(c.err() + c.out()).not.toContain("secret-value");
  });
});

describe("lime verify-login: the site's check, runnable from a shell (README step 6)", () => {
  const siteEnv = () => ({ LIME_API_BASE: lime.server.url, LIME_SITE_TOKEN: lime.ids.siteToken });

  const approvedRequest = async () => {
    const site = new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken });
    const { requestId } = await site.createLoginRequest();
    expect(await runCli(["login", requestId], captured(agentEnv()).io)).toBe(EXIT.ok);
    const { passportJwt } = await site.getLoginRequest(requestId);
    await site.close();
    return { requestId, passportJwt: passportJwt! };
  };

  test("verifies the approved request's passport without a configured site id and prints it", async () => {
    const { requestId } = await approvedRequest();
    const c = captured(siteEnv());
    expect(await runCli(["verify-login", requestId], c.io)).toBe(EXIT.ok);
    expect(JSON.parse(c.out())).toMatchObject({
      requestId,
      siteId: lime.ids.siteId,
      agentId: lime.ids.agentId,
      audience: ["lime-site-login"],
    });
  });

  test("--passport verifies the given JWT; one bound to another request is exit 1 with the core's code", async () => {
    const first = await approvedRequest();
    const second = await approvedRequest();
    const good = captured(siteEnv());
    expect(await runCli(["verify-login", first.requestId, "--passport", first.passportJwt], good.io)).toBe(
      EXIT.ok,
    );
    const swapped = captured(siteEnv());
    expect(
      await runCli(["verify-login", first.requestId, "--passport", second.passportJwt], swapped.io),
    ).toBe(EXIT.refused);
    expect(swapped.err()).toContain("PASSPORT_WRONG_REQUEST");
    expect(swapped.out()).toBe("");
  });

  test("a request not approved yet is exit 1, saying it has no passport", async () => {
    const site = new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken });
    const { requestId } = await site.createLoginRequest();
    await site.close();
    const c = captured(siteEnv());
    expect(await runCli(["verify-login", requestId], c.io)).toBe(EXIT.refused);
    expect(c.err()).toContain("is PENDING and has no passport");
  });

  test("without LIME_SITE_TOKEN it is exit 4 naming the variable", async () => {
    const c = captured({ LIME_API_BASE: lime.server.url });
    expect(await runCli(["verify-login", crypto.randomUUID()], c.io)).toBe(EXIT.config);
    expect(c.err()).toContain("LIME_SITE_TOKEN");
  });
});

describe("lime CLI without a server", () => {
  test("solve --difficulty N prints a nonce the core's verify accepts", async () => {
    const challenge = "ab".repeat(32);
    const c = captured();
    expect(await runCli(["solve", "--difficulty=14", "--challenge", challenge], c.io)).toBe(EXIT.ok);
    const result = JSON.parse(c.out()) as { nonce: string; difficulty: number; hashes: number };
    expect(result.difficulty).toBe(14);
    expect(verify(challenge, 14, result.nonce)).toBe(true);
  });

  test("usage errors are exit 2 with a message", async () => {
    for (const argv of [
      ["solve"],
      ["solve", "--difficulty", "41"],
      ["solve", "--difficulty", "4", "--challenge", "XYZ"],
      ["login"],
      ["login", "a", "b"],
      ["frobnicate"],
      ["profile", "--token", "x"],
      [],
    ]) {
      const c = captured(agentEnv());
      expect(await runCli(argv, c.io)).toBe(EXIT.usage);
      expect(c.err()).toContain("usage: lime");
    }
  });

  test("--help prints the usage on stdout with exit 0", async () => {
    const c = captured();
    expect(await runCli(["--help"], c.io)).toBe(EXIT.ok);
    expect(c.out()).toContain("solve --difficulty N");
  });

  test("missing configuration is exit 4 naming the variable", async () => {
    const c = captured({ LIME_API_BASE: "http://127.0.0.1:9" });
    expect(await runCli(["profile"], c.io)).toBe(EXIT.config);
    expect(c.err()).toContain("LIME_AGENT_TOKEN");
  });

  test(
    "an unreachable server is exit 3",
    async () => {
      const failing = async () => {
        throw new TypeError("connection refused");
      };
      const c = captured({ LIME_API_BASE: "http://127.0.0.1:9", LIME_AGENT_TOKEN: "t" });
      const io = { ...c.io, fetch: failing };
      expect(await runCli(["passport"], io)).toBe(EXIT.unavailable);
      expect(c.err()).toContain("SDK_NETWORK_ERROR");
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("Ctrl-C during a solve is exit 130", async () => {
    const controller = new AbortController();
    const c = captured();
    const pending = runCli(["solve", "--difficulty", "36"], { ...c.io, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toBe(EXIT.interrupted);
  });
});

describe("progress bar", () => {
  test("stays silent on short solves and off terminals", () => {
    const writes: string[] = [];
    let now = 0;
    const bar = createProgressBar({ write: (t) => writes.push(t), isTTY: true }, 1 << 20, { now: () => now });
    now = 100;
    bar.update(1000);
    bar.done();
    expect(writes).toEqual([]);
    const offTty = createProgressBar({ write: (t) => writes.push(t), isTTY: false }, 1 << 20, {
      now: () => now,
    });
    now = 10_000;
    offTty.update(1000);
    expect(writes).toEqual([]);
  });

  test("draws on stderr with \\r after the delay and clears the line when done", () => {
    const writes: string[] = [];
    let now = 0;
    const bar = createProgressBar({ write: (t) => writes.push(t), isTTY: true }, 1 << 20, { now: () => now });
    now = 1000;
    bar.update(1 << 19);
    bar.done();
    expect(writes[0]).toStartWith("\rsolving [");
    expect(writes[0]).toContain("50%");
    expect(writes[1]).toBe("\r\u001b[2K");
  });

  test("never shows 100% before the answer: the expected count is only an average", () => {
    expect(formatProgress(5_000_000, 1_000_000, 1000)).toContain("99%");
    expect(formatProgress(0, 1_000_000, 0)).toContain(" 0%");
  });
});
