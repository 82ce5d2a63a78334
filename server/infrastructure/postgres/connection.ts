/**
 * The PostgreSQL connection pool, through Bun's built-in SQL client
 * (`Bun.SQL`): no dependency, and about 1.7× the queries per second of the
 * `postgres` package on loopback (docs/decisions/server-postgres.md).
 *
 * Boot waits a bounded time for the database and stops with a message that
 * names `DATABASE_URL` without echoing it (it may carry a password). After
 * boot an outage does not stop the process: queries fail fast while the
 * database is away (`isDatabaseUnavailable` → 503 with `Retry-After`), and
 * the pool reconnects on the next query once it is back.
 */

import type { SQL } from "bun";

export type Sql = SQL;

export interface PostgresOptions {
  /** `DATABASE_URL`: `postgres://` or `postgresql://`. */
  url: string;
  /** Pool size per instance. */
  max?: number;
  /** How long one connection attempt may take. */
  connectTimeoutMs?: number;
  /** How long boot waits for the database to answer before giving up. */
  bootTimeoutMs?: number;
  /** Server-side limit on one statement, so a stuck query frees its connection. */
  statementTimeoutMs?: number;
  /** The schema the tables live in (`search_path`); default `public`. Tests give each test its own. */
  schema?: string;
}

export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
}

/** The URL with any password replaced, for logs and messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    parsed.search = "";
    return parsed.toString();
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

/** Creates the pool and waits until the database answers, or throws naming DATABASE_URL. */
export async function connectPostgres(options: PostgresOptions): Promise<Sql> {
  const sql = new Bun.SQL(options.url, {
    max: options.max ?? 8,
    connectionTimeout: Math.ceil((options.connectTimeoutMs ?? 5000) / 1000),
    idleTimeout: 60,
    // Connections are recycled now and then, so a pool never pins one backend for days.
    maxLifetime: 3600,
    connection: {
      statement_timeout: String(options.statementTimeoutMs ?? 15_000),
      application_name: "lime-server",
      ...(options.schema && { search_path: options.schema }),
    },
    onclose: () => {},
  });
  const deadline = Date.now() + (options.bootTimeoutMs ?? 10_000);
  for (;;) {
    try {
      await sql`SELECT 1`;
      return sql;
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() > deadline) {
        await sql.close().catch(() => {});
        throw new DatabaseUnavailableError(
          `DATABASE_URL: cannot reach PostgreSQL at ${redactDatabaseUrl(options.url)} (${describe(error)})`,
        );
      }
      await Bun.sleep(250);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * SQLSTATE classes and client codes that mean "the database is not there
 * right now", as opposed to a bad query: class 08 (connection exception),
 * 57P01–57P03 (the server is shutting down or starting up), 53300 (too many
 * connections), and the client's own connection failures.
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  const sqlstate = typeof errno === "string" ? errno : "";
  if (sqlstate.startsWith("08") || UNAVAILABLE_SQLSTATES.has(sqlstate)) return true;
  if (typeof code !== "string") return false;
  if (code.startsWith("ERR_POSTGRES_CONNECTION") || code === "ERR_POSTGRES_IDLE_TIMEOUT") return true;
  if (code === "ERR_POSTGRES_LIFETIME_TIMEOUT" || code === "ERR_POSTGRES_SERVER_ERROR") {
    return sqlstate.startsWith("08") || UNAVAILABLE_SQLSTATES.has(sqlstate);
  }
  return ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"].includes(code);
}
