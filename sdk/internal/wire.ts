/**
 * Readers for server answers: each takes the JSON the server sent and either
 * returns the typed value or throws SDK_INVALID_RESPONSE naming the field, so
 * a protocol mismatch surfaces as one clear error at the edge instead of an
 * `undefined` deep inside a caller.
 *
 * An answer is read by a table from our camelCase names to its fields:
 *
 * @example
 * readRecord(json, "agent profile", { agentId: str("agent_id"), avatarUrl: optStr("avatar_url") });
 */
import { LimeSdkError } from "../errors.ts";
import { isRecord } from "./http.ts";

/** Reads one field of `data`; `what` names the answer in the error. */
export type Field<T> = (data: Record<string, unknown>, what: string) => T;

/** How each property of `T` is read. */
export type FieldTable<T> = { [K in keyof T]: Field<T[K]> };

export function invalid(what: string, field: string): LimeSdkError {
  return new LimeSdkError("SDK_INVALID_RESPONSE", `${what}: missing or invalid "${field}"`, {
    detail: { field },
  });
}

/** Reads the properties in the table's order; the first bad field is the one named. */
export function readRecord<T>(value: unknown, what: string, table: FieldTable<T>): T {
  if (!isRecord(value)) throw invalid(what, "data");
  const result = {} as T;
  for (const key in table) result[key] = table[key](value, what);
  return result;
}

function field<T>(
  name: string,
  accept: (value: unknown) => value is T,
  valid: (value: T) => boolean = () => true,
): Field<T> {
  return (data, what) => {
    const value = data[name];
    if (!accept(value) || !valid(value)) throw invalid(what, name);
    return value;
  };
}

const isString = (value: unknown): value is string => typeof value === "string";
const isNumber = (value: unknown): value is number => typeof value === "number";

/** A non-empty string, optionally also passing `valid`. */
export function str(name: string, valid?: (value: string) => boolean): Field<string> {
  return field(name, (value): value is string => isString(value) && value !== "", valid);
}

/** A string, or `null` when the field is absent or null. */
export function optStr(name: string): Field<string | null> {
  const present = field(name, isString);
  return (data, what) => (data[name] === undefined || data[name] === null ? null : present(data, what));
}

export function int(name: string): Field<number> {
  return field(name, isNumber, Number.isInteger);
}

/** A finite number, optionally also passing `valid`. */
export function num(name: string, valid: (value: number) => boolean = () => true): Field<number> {
  return field(name, isNumber, (value) => Number.isFinite(value) && valid(value));
}

/** An ISO 8601 timestamp, kept as the server's string (callers parse with `Date.parse` if they need). */
export function timestamp(name: string): Field<string> {
  return str(name, (value) => !Number.isNaN(Date.parse(value)));
}

/** An object field, read by its own table; its errors name the answer `what` and the inner field. */
export function nested<T>(name: string, table: FieldTable<T>): Field<T> {
  return (data, what) => readRecord(data[name], what, table);
}

/** What every view of a login request carries (its public challenge, its creation, its status). */
export const loginRequestFields = {
  requestId: str("login_request_id"),
  status: str("status"),
  expiresAt: timestamp("expires_at"),
};
