/**
 * The `lime` command line for agents and operators. Everything a command
 * needs from its runtime comes through `CliIo`, so the same code runs under
 * Bun, Node and Deno (see `sdk/cli.ts`) and in tests.
 *
 * Results go to stdout (JSON, or the bare JWT for `passport`), diagnostics
 * and the progress bar to stderr. Tokens are read from the environment only
 * (`LIME_AGENT_TOKEN`, `LIME_SITE_TOKEN`): a token on the command line would
 * show in the process list and the shell history.
 *
 * Exit codes: 0 done; 1 refused (the server said no, the login request is no
 * longer pending, or a passport failed verification); 2 usage; 3 the server
 * could not be reached or answered off-protocol or with a 5xx; 4
 * configuration missing or malformed; 130 interrupted.
 */
import { KeyError, PassportError } from "@lime-ts/core/errors";
import { generateAgentKey } from "@lime-ts/core/http-signatures";
import { createChallenge, MAX_POW_DIFFICULTY, solve } from "@lime-ts/core/pow";
import { AgentClient } from "../agent/client.ts";
import { LimeApiError, LimeSdkError } from "../errors.ts";
import type { FetchLike } from "../internal/http.ts";
import { httpUrlOrUndefined, requireSecureTransport } from "../internal/loopback.ts";
import { SiteClient } from "../site/client.ts";
import { createProgressBar, type ProgressSink } from "./progress.ts";

export interface CliIo {
  stdout(text: string): void;
  stderr: ProgressSink;
  env(name: string): string | undefined;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  fetch?: FetchLike;
}

export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3, config: 4, interrupted: 130 } as const;

const USAGE = `usage: lime <command> [options]

commands:
  login <request-id>          solve the request's proof of work and approve it as this agent
  profile                     show this agent's profile
  passport [--audience AUD]   print a self-service passport (a JWT) for AUD
  solve --difficulty N        solve a proof of work locally (benchmark); --challenge HEX, --workers N
  verify-login <request-id>   as the site: verify the request's login passport locally against the
                              issuer's JWKS and print it; --passport JWT verifies that one instead
                              (e.g. from the event stream) of the one the request status returns
  keys generate [--kind K]    print a new private signing key, a JWK to keep in LIME_AGENT_KEY
                              (K: ed25519, the default, or p-256)
  keys register [--label L]   register LIME_AGENT_KEY as this agent's key (and sign its directory)
  keys list                   this agent's keys, revoked ones too
  keys revoke <kid>           revoke one of this agent's keys

options:
  --base-url URL              the LIME server (default: LIME_API_BASE)
  --workers N                 solver threads for login/solve (default: the core's choice)
  -h, --help                  this text

environment:
  LIME_AGENT_TOKEN            the agent's token (never pass it as an argument)
  LIME_SITE_TOKEN             the site's token, for verify-login
  LIME_AGENT_KEY              the agent's private signing key (a JWK): login and passport then get
                              passports bound to it (docs/web-bot-auth.md)
  LIME_API_BASE               the LIME server (https:, or plain http: to localhost / 127.0.0.0/8 / [::1])
  LIME_ALLOW_INSECURE_TRANSPORT=1
                              development only: accept a plain http: server elsewhere (the token travels in clear)
`;

class UsageError extends Error {}

interface Parsed {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string>;
  help: boolean;
}

const VALUE_FLAGS = new Set([
  "audience",
  "difficulty",
  "challenge",
  "workers",
  "base-url",
  "passport",
  "kind",
  "label",
]);

function parse(argv: string[]): Parsed {
  const parsed: Parsed = { command: undefined, positional: [], flags: new Map(), help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      parsed.help = true;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown option --${name}`);
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
      parsed.flags.set(name, value);
    } else if (parsed.command === undefined) {
      parsed.command = arg;
    } else {
      parsed.positional.push(arg);
    }
  }
  return parsed;
}

function integerFlag(parsed: Parsed, name: string, min: number, max: number): number | undefined {
  const raw = parsed.flags.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

interface Connection {
  baseUrl: string;
  token: string;
  allowInsecureTransport: boolean;
}

/** The server and the token from the flags and environment, refused before anything is sent. */
function connectionFrom(parsed: Parsed, io: CliIo, tokenVariable: string, whose: string): Connection {
  const fromFlag = parsed.flags.get("base-url");
  const baseUrl = fromFlag ?? io.env("LIME_API_BASE");
  const token = io.env(tokenVariable);
  if (baseUrl === undefined) throw new LimeConfigError("set LIME_API_BASE or pass --base-url");
  if (token === undefined) throw new LimeConfigError(`set ${tokenVariable} to the ${whose}'s token`);
  const allowInsecureTransport = insecureTransportAllowed(io);
  // Checked before the client so the refusal names what a CLI user sets, not the SDK option;
  // a malformed URL is left to the client to report.
  const url = httpUrlOrUndefined(baseUrl);
  if (url !== undefined) {
    const label = fromFlag === undefined ? "LIME_API_BASE" : "--base-url";
    requireSecureTransport(url, label, allowInsecureTransport, "set LIME_ALLOW_INSECURE_TRANSPORT=1");
  }
  return { baseUrl, token, allowInsecureTransport };
}

/** Builds an SDK client; a configured value it refuses (its message names the setting, never the value) is a config error. */
function clientFrom<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof TypeError) throw new LimeConfigError(error.message);
    throw error;
  }
}

function agentFrom(parsed: Parsed, io: CliIo): AgentClient {
  const { baseUrl, token, allowInsecureTransport } = clientFrom(() =>
    connectionFrom(parsed, io, "LIME_AGENT_TOKEN", "agent"),
  );
  const signingKey = signingKeyFrom(io);
  return clientFrom(
    () =>
      new AgentClient({ baseUrl, agentToken: token, fetch: io.fetch, allowInsecureTransport, signingKey }),
  );
}

/** LIME_AGENT_KEY: a private JWK, as `keys generate` prints it; checked when first used. */
function signingKeyFrom(io: CliIo): JsonWebKey | undefined {
  const raw = io.env("LIME_AGENT_KEY");
  if (raw === undefined || raw === "") return undefined;
  try {
    const jwk: unknown = JSON.parse(raw);
    if (typeof jwk === "object" && jwk !== null && !Array.isArray(jwk)) return jwk as JsonWebKey;
  } catch {}
  throw new LimeConfigError("LIME_AGENT_KEY must be a private JWK (the JSON `lime keys generate` prints)");
}

/** `lime keys generate|register|list|revoke`. */
async function keys(parsed: Parsed, io: CliIo): Promise<number> {
  const [action, kid, extra] = parsed.positional;
  if (action === "generate") {
    if (kid !== undefined) throw new UsageError("keys generate takes no arguments");
    const kind = { ed25519: "Ed25519", "p-256": "P-256" }[
      (parsed.flags.get("kind") ?? "ed25519").toLowerCase()
    ];
    if (kind !== "Ed25519" && kind !== "P-256") throw new UsageError("--kind must be ed25519 or p-256");
    const key = await generateAgentKey(kind, { extractable: true });
    const { kty, crv, x, y, d } = await crypto.subtle.exportKey("jwk", key.privateKey);
    io.stdout(json({ kty, crv, x, y, d, kid: key.kid }));
    return EXIT.ok;
  }
  const agent = agentFrom(parsed, io);
  if (action === "register" && kid === undefined) {
    if ((await agent.signingKey().catch(badKey)) === undefined) {
      throw new LimeConfigError("set LIME_AGENT_KEY to the key to register (lime keys generate)");
    }
    io.stdout(json(await agent.registerKey({ label: parsed.flags.get("label"), signal: io.signal })));
  } else if (action === "list" && kid === undefined) {
    io.stdout(json(await agent.listKeys({ signal: io.signal })));
  } else if (action === "revoke" && kid !== undefined && extra === undefined) {
    await agent.revokeKey(kid, { signal: io.signal });
    io.stdout(json({ kid, status: "REVOKED" }));
  } else {
    throw new UsageError("keys takes generate, register, list or revoke <kid>");
  }
  return EXIT.ok;
}

function badKey(error: unknown): never {
  if (error instanceof KeyError) throw new LimeConfigError(`LIME_AGENT_KEY: ${error.message}`);
  throw error;
}

function siteFrom(parsed: Parsed, io: CliIo): SiteClient {
  const { baseUrl, token, allowInsecureTransport } = clientFrom(() =>
    connectionFrom(parsed, io, "LIME_SITE_TOKEN", "site"),
  );
  return clientFrom(
    () => new SiteClient({ baseUrl, siteToken: token, fetch: io.fetch, allowInsecureTransport }),
  );
}

/** LIME_ALLOW_INSECURE_TRANSPORT: "1" opts out, unset, empty or "0" does not, anything else is a mistake. */
function insecureTransportAllowed(io: CliIo): boolean {
  const raw = io.env("LIME_ALLOW_INSECURE_TRANSPORT");
  if (raw === undefined || raw === "" || raw === "0") return false;
  if (raw === "1") return true;
  throw new LimeConfigError("LIME_ALLOW_INSECURE_TRANSPORT must be 1 or 0");
}

class LimeConfigError extends Error {}

/**
 * Text from the server as it may reach a terminal: control characters (ESC,
 * BEL, CR, DEL, the C1 range with its one-character CSI) shown as `\uXXXX`,
 * so a hostile answer cannot retitle, clear or rewrite the operator's
 * screen. `keep` lists characters left alone (the line feeds of our own JSON).
 */
function escapeControls(text: string, keep = ""): string {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
    out += control && !keep.includes(ch) ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
  }
  return out;
}

/** JSON.stringify escapes C0 inside strings but not DEL or C1; `\uXXXX` keeps the output valid JSON. */
function json(value: unknown): string {
  return `${escapeControls(JSON.stringify(value, null, 2), "\n")}\n`;
}

async function login(parsed: Parsed, io: CliIo): Promise<number> {
  const [requestId, extra] = parsed.positional;
  if (requestId === undefined || extra !== undefined)
    throw new UsageError("login takes exactly one <request-id>");
  const agent = agentFrom(parsed, io);
  let bar: ReturnType<typeof createProgressBar> | undefined;
  try {
    const approval = await agent.login(requestId, {
      signal: io.signal,
      workers: integerFlag(parsed, "workers", 1, 64),
      onProgress: ({ hashes, expectedHashes }) => {
        bar ??= createProgressBar(io.stderr, expectedHashes);
        bar.update(hashes);
      },
    });
    bar?.done();
    bar = undefined;
    io.stdout(json(approval));
    return EXIT.ok;
  } finally {
    bar?.done();
  }
}

async function solveLocally(parsed: Parsed, io: CliIo): Promise<number> {
  const difficulty = integerFlag(parsed, "difficulty", 0, MAX_POW_DIFFICULTY);
  if (difficulty === undefined) throw new UsageError("solve needs --difficulty N");
  const challenge = parsed.flags.get("challenge") ?? createChallenge();
  if (!/^[0-9a-f]{64}$/.test(challenge))
    throw new UsageError("--challenge must be 64 lowercase hex characters");
  const bar = createProgressBar(io.stderr, 2 ** difficulty);
  const started = performance.now();
  try {
    const { nonce, hashes } = await solve(challenge, difficulty, {
      signal: io.signal,
      workers: integerFlag(parsed, "workers", 1, 64),
      onProgress: (hashes) => bar.update(hashes),
    });
    const ms = performance.now() - started;
    bar.done();
    const hashesPerSecond = Math.round(hashes / (ms / 1000));
    io.stdout(json({ challenge, difficulty, nonce, hashes, ms: Math.round(ms * 10) / 10, hashesPerSecond }));
    return EXIT.ok;
  } catch (error) {
    bar.done();
    throw error;
  }
}

/** A login request that has no passport to verify (not approved yet, or its passport expired). */
class NoPassportError extends Error {}

async function verifyLogin(parsed: Parsed, io: CliIo): Promise<number> {
  const [requestId, extra] = parsed.positional;
  if (requestId === undefined || extra !== undefined)
    throw new UsageError("verify-login takes exactly one <request-id>");
  const site = siteFrom(parsed, io);
  try {
    let jwt = parsed.flags.get("passport");
    if (jwt === undefined) {
      const state = await site.getLoginRequest(requestId, { signal: io.signal });
      if (state.passportJwt === null) {
        throw new NoPassportError(
          `login request ${requestId} is ${state.status} and has no passport to verify (a login passport ` +
            "is returned for 60 s after the approval by default: SITE_LOGIN_PASSPORT_TTL_SECONDS)",
        );
      }
      jwt = state.passportJwt;
    }
    // Local: signature against the issuer's JWKS, issuer, audience, lifetime, request and site binding.
    io.stdout(json(await site.verifyPassport(jwt, { requestId })));
    return EXIT.ok;
  } finally {
    await site.close();
  }
}

/** Runs one command line; resolves with the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const parsed = parse(argv);
    if (parsed.help || parsed.command === "help") {
      io.stdout(USAGE);
      return EXIT.ok;
    }
    if (parsed.command === undefined) {
      io.stderr.write(USAGE);
      return EXIT.usage;
    }
    switch (parsed.command) {
      case "login":
        return await login(parsed, io);
      case "profile": {
        if (parsed.positional.length > 0) throw new UsageError("profile takes no arguments");
        io.stdout(json(await agentFrom(parsed, io).profile({ signal: io.signal })));
        return EXIT.ok;
      }
      case "passport": {
        if (parsed.positional.length > 0) throw new UsageError("passport takes no arguments");
        const audience = parsed.flags.get("audience");
        io.stdout(`${await agentFrom(parsed, io).passport({ audience, signal: io.signal })}\n`);
        return EXIT.ok;
      }
      case "solve":
        return await solveLocally(parsed, io);
      case "verify-login":
        return await verifyLogin(parsed, io);
      case "keys":
        return await keys(parsed, io);
      default:
        throw new UsageError(`unknown command "${parsed.command}"`);
    }
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  const say = (text: string) => io.stderr.write(`lime: ${escapeControls(text)}\n`);
  if (error instanceof UsageError) {
    say(error.message);
    io.stderr.write(USAGE);
    return EXIT.usage;
  }
  if (error instanceof LimeConfigError) {
    say(error.message);
    return EXIT.config;
  }
  if (error instanceof KeyError) {
    say(`LIME_AGENT_KEY: ${error.code}: ${error.message}`);
    return EXIT.config;
  }
  if (error instanceof NoPassportError) {
    say(error.message);
    return EXIT.refused;
  }
  if (error instanceof PassportError) {
    say(`${error.code}: ${error.message}`);
    return EXIT.refused;
  }
  if (error instanceof TypeError) {
    say(error.message);
    return EXIT.usage;
  }
  if (error instanceof LimeApiError) {
    const detail = Object.keys(error.detail).length > 0 ? ` ${JSON.stringify(error.detail)}` : "";
    say(`${error.code} (HTTP ${error.status}): ${error.message}${detail}`);
    if (error.retryAfterMs !== undefined) say(`retry after ${Math.ceil(error.retryAfterMs / 1000)} s`);
    return error.status >= 500 ? EXIT.unavailable : EXIT.refused;
  }
  if (error instanceof LimeSdkError || (error as { code?: unknown })?.code === "POW_ABORTED") {
    const code = (error as LimeSdkError).code;
    say(`${code}: ${(error as Error).message}`);
    if (code === "SDK_ABORTED" || (code as string) === "POW_ABORTED") return EXIT.interrupted;
    if (code === "SDK_LOGIN_NOT_PENDING" || code === "SDK_UNSUPPORTED_POW") return EXIT.refused;
    return EXIT.unavailable;
  }
  const code = (error as { code?: unknown })?.code;
  say(
    `${typeof code === "string" ? `${code}: ` : ""}${error instanceof Error ? error.message : String(error)}`,
  );
  return EXIT.unavailable;
}
