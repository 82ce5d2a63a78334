/**
 * Structured logger: one JSON object per line on stderr.
 *
 * Callers pass fields, never secrets: tokens, passwords, codes and keys are
 * not logged anywhere in the server (the development mailer is the one
 * deliberate exception, and it says so).
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function parseLevel(raw: string | undefined): LogLevel {
  return raw === "debug" || raw === "info" || raw === "warn" || raw === "error" ? raw : "info";
}

/** Logger writing JSON lines to stderr at or above `level` (default from `LIME_LOG_LEVEL`). */
export function createJsonLogger(level: LogLevel = parseLevel(process.env.LIME_LOG_LEVEL)): Logger {
  const write = (at: LogLevel, message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields });
    process.stderr.write(`${line}\n`);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}

/** A logger that keeps nothing, for tests that assert on other outputs. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
