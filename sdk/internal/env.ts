/**
 * Reads an environment variable in whichever runtime we are in, or returns
 * `undefined` where there is no environment (browsers, Workers) or where
 * reading it is not permitted (Deno without --allow-env throws; we treat
 * that as unset rather than crash a client that was given explicit options).
 */
export function readEnv(name: string): string | undefined {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    Deno?: { env?: { get(key: string): string | undefined } };
  };
  try {
    if (g.Deno?.env) return nonEmpty(g.Deno.env.get(name));
    return nonEmpty(g.process?.env?.[name]);
  } catch {
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
