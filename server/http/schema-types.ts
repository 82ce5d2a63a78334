import { type TSchema, t } from "elysia";

/**
 * A JSON integer, strictly. Elysia's `t.Integer` also accepts numeric strings
 * ("15") in bodies; the API takes numbers as numbers.
 */
export function JsonInteger(options: { minimum?: number; maximum?: number; description?: string } = {}) {
  return t.Number({ ...options, multipleOf: 1 });
}

/** An instant as the API writes it: ISO 8601 in UTC to the second, e.g. `2026-12-02T19:00:00Z`. */
export const IsoTime = t.String({ format: "date-time" });

/** `schema` or JSON `null`. */
export function Nullable<T extends TSchema>(schema: T) {
  return t.Union([schema, t.Null()]);
}
