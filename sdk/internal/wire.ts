/**
 * Field readers for server answers: each takes the JSON the server sent and
 * either returns the typed value or throws SDK_INVALID_RESPONSE naming the
 * field, so a protocol mismatch surfaces as one clear error at the edge
 * instead of an `undefined` deep inside a caller.
 */
import { LimeSdkError } from "../errors.ts";
import { isRecord } from "./http.ts";

export function invalid(what: string, field: string): LimeSdkError {
  return new LimeSdkError("SDK_INVALID_RESPONSE", `${what}: missing or invalid "${field}"`, {
    detail: { field },
  });
}

export function record(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw invalid(what, "data");
  return value;
}

export function str(data: Record<string, unknown>, field: string, what: string): string {
  const value = data[field];
  if (typeof value !== "string" || value === "") throw invalid(what, field);
  return value;
}

export function optStr(data: Record<string, unknown>, field: string, what: string): string | null {
  const value = data[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw invalid(what, field);
  return value;
}

export function int(data: Record<string, unknown>, field: string, what: string): number {
  const value = data[field];
  if (typeof value !== "number" || !Number.isInteger(value)) throw invalid(what, field);
  return value;
}

export function num(data: Record<string, unknown>, field: string, what: string): number {
  const value = data[field];
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(what, field);
  return value;
}

/** An ISO 8601 timestamp, kept as the server's string (callers parse with `Date.parse` if they need). */
export function timestamp(data: Record<string, unknown>, field: string, what: string): string {
  const value = str(data, field, what);
  if (Number.isNaN(Date.parse(value))) throw invalid(what, field);
  return value;
}
