/**
 * Connections to the Redis that several server instances share (`REDIS_URL`).
 *
 * Redis sits on the request path (every rate-limited request asks it), so
 * nothing here may wait without bound: the connect attempt at boot has a
 * deadline; while the connection is down commands fail at once instead of
 * queueing (`disableOfflineQueue`), so the callers' fallbacks answer in
 * microseconds rather than piling up requests; and callers bound the wait
 * for a reply with `replyWithin`. After boot the client reconnects forever
 * with capped, jittered backoff.
 *
 * @example
 * const client = await connectRedis({ url: "redis://127.0.0.1:6379", logger, name: "commands" });
 * const subscriber = await connectRedis({ url, logger, name: "subscriber" }); // pub/sub needs its own connection
 */

import { createClient, type RedisClientType } from "redis";
import type { Logger } from "../logger.ts";

export type RedisClient = RedisClientType;

export interface RedisConnectionOptions {
  url: string;
  logger: Logger;
  /** Names the connection in logs and in Redis's `CLIENT LIST`. */
  name: string;
  /** How long boot waits for Redis before giving up (default 5000 ms). */
  connectTimeoutMs?: number;
  /**
   * How long a command may wait to be written (default 500 ms). node-redis
   * stops the clock once the command is on the wire; `replyWithin` bounds the rest.
   */
  commandTimeoutMs?: number;
  /** Upper bound of the reconnect backoff (default 2000 ms). */
  maxReconnectDelayMs?: number;
}

/** Redis did not answer within the caller's deadline. */
export class RedisReplyTimeoutError extends Error {
  constructor(ms: number) {
    super(`no reply from Redis within ${ms} ms`);
    this.name = "RedisReplyTimeoutError";
  }
}

/**
 * Rejects with `RedisReplyTimeoutError` if `command` has not settled within
 * `ms`. The command itself is not cancelled (Redis may still run it); the
 * caller just stops waiting, which is what a request path needs from a
 * stalled server or a half-open connection.
 */
export function replyWithin<T>(command: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisReplyTimeoutError(ms)), ms);
  });
  command.catch(() => {}); // A late rejection after the deadline is not an unhandled one.
  return Promise.race([command, deadline]).finally(() => clearTimeout(timer));
}

/** Redis could not be reached at boot. The message names `REDIS_URL`, never its password. */
export class RedisUnavailableError extends Error {
  readonly variable = "REDIS_URL";

  constructor(url: string, cause: unknown) {
    super(`REDIS_URL: cannot reach Redis at ${redactRedisUrl(url)} (${describe(cause)})`);
    this.name = "RedisUnavailableError";
  }
}

/** The URL without its credentials, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username !== "" || parsed.password !== "") {
      parsed.username = "";
      parsed.password = "";
    }
    return parsed.href;
  } catch {
    return "(unparseable URL)";
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  return String(cause);
}

/** Exponential backoff from 50 ms, capped, with full jitter so instances do not reconnect in lockstep. */
function backoff(retries: number, capMs: number): number {
  const ceiling = Math.min(capMs, 50 * 2 ** Math.min(retries, 10));
  return Math.max(20, Math.floor(Math.random() * ceiling));
}

/**
 * Opens one connection and waits until it is ready, or throws
 * `RedisUnavailableError` after `connectTimeoutMs`. Connection errors after
 * boot are logged once per outage (not once per retry), and so is recovery.
 */
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisClient> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const fields = { connection: options.name, redis: redactRedisUrl(options.url) };
  const startedAt = Date.now();
  let booted = false;
  let down = false;
  let lastBootError: unknown;

  const client = createClient({
    url: options.url,
    name: `lime-${options.name}`,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs ?? 500 },
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: (retries, cause) => {
        // At boot, retries stop at the deadline and `connect()` rejects with the last cause.
        if (!booted && Date.now() - startedAt >= connectTimeoutMs) return cause;
        return backoff(retries, maxDelay);
      },
    },
  });
  // Without an "error" listener an EventEmitter error is thrown, which would take the process down.
  client.on("error", (error: unknown) => {
    if (!booted) lastBootError = error;
    if (!booted || down) return;
    down = true;
    options.logger.warn("Redis connection lost; reconnecting", { ...fields, error: describe(error) });
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    options.logger.info("Redis connection restored", fields);
  });

  // The socket's connect timeout does not cover a peer that accepts but never answers the handshake.
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    deadline = setTimeout(
      () =>
        reject(
          new RedisUnavailableError(options.url, lastBootError ?? `no answer within ${connectTimeoutMs} ms`),
        ),
      connectTimeoutMs + 250,
    );
  });
  const connecting = client.connect();
  connecting.catch(() => {}); // Observed below; this keeps a late rejection after a timeout from going unhandled.
  try {
    await Promise.race([connecting, timedOut]);
  } catch (error) {
    client.destroy();
    throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(options.url, error);
  } finally {
    clearTimeout(deadline);
  }
  booted = true;
  return client;
}

/** Closes a connection, waiting for its pending commands; a connection already down is dropped. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy();
    return;
  }
  try {
    await client.close();
  } catch {
    client.destroy();
  }
}
