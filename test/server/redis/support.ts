import type { LogFields, Logger, LogLevel } from "../../../server/infrastructure/logger.ts";

export interface CapturingLogger extends Logger {
  entries: Array<{ level: LogLevel; message: string; fields?: LogFields }>;
}

/** Keeps what is logged, so a test can check that an outage is reported once and not per request. */
export function capturingLogger(): CapturingLogger {
  const entries: CapturingLogger["entries"] = [];
  const at = (level: LogLevel) => (message: string, fields?: LogFields) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
