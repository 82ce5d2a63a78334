import { t } from "elysia";

/**
 * A JSON integer, strictly. Elysia's `t.Integer` also accepts numeric strings
 * ("15") in bodies; the API takes numbers as numbers.
 */
export function JsonInteger(options: { minimum?: number; maximum?: number } = {}) {
  return t.Number({ ...options, multipleOf: 1 });
}
