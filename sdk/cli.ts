#!/usr/bin/env node
/**
 * `lime`: the command line for agents and operators (see sdk/cli/commands.ts
 * for the commands and exit codes).
 *
 *   bun sdk/cli.ts login <request-id>
 *   bun sdk/cli.ts solve --difficulty 20
 *   deno run --allow-env --allow-net sdk/cli.ts profile
 *
 * This file only adapts the runtime (arguments, stdio, environment, Ctrl-C,
 * exit status) for Bun, Node (bundled) and Deno; it uses no Node-only API
 * that the other runtimes lack, reaching each through `globalThis`.
 */
import { type CliIo, EXIT, runCli } from "./cli/commands.ts";
import { readEnv } from "./internal/env.ts";

interface NodeLikeProcess {
  argv: string[];
  exitCode?: number;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  once(event: "SIGINT", listener: () => void): unknown;
}

interface DenoLike {
  args: string[];
  exit(code: number): never;
  stdout: { writeSync(bytes: Uint8Array): number };
  stderr: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean };
  addSignalListener(signal: "SIGINT", listener: () => void): void;
}

const g = globalThis as { Deno?: DenoLike; process?: NodeLikeProcess };
const interrupt = new AbortController();
const encoder = new TextEncoder();

function writeAll(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

function io(): { io: CliIo; argv: string[]; exit(code: number): void } {
  const deno = g.Deno;
  if (deno) {
    deno.addSignalListener("SIGINT", () => interrupt.abort());
    return {
      argv: deno.args,
      exit: (code) => deno.exit(code),
      io: {
        stdout: (text) => writeAll(deno.stdout, text),
        stderr: { write: (text) => writeAll(deno.stderr, text), isTTY: deno.stderr.isTerminal() },
        env: readEnv,
        signal: interrupt.signal,
      },
    };
  }
  const proc = g.process;
  if (!proc) throw new Error("lime: no process object in this runtime");
  proc.once("SIGINT", () => interrupt.abort());
  return {
    argv: proc.argv.slice(2),
    exit: (code) => {
      proc.exitCode = code;
    },
    io: {
      stdout: (text) => proc.stdout.write(text),
      stderr: { write: (text) => proc.stderr.write(text), isTTY: proc.stderr.isTTY === true },
      env: readEnv,
      signal: interrupt.signal,
    },
  };
}

const runtime = io();
const code = await runCli(runtime.argv, runtime.io);
runtime.exit(interrupt.signal.aborted ? EXIT.interrupted : code);
