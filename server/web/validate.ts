/**
 * Form values checked against the same TypeBox schemas that validate the JSON
 * API's bodies, so a rule lives in one place; pages only choose the words a
 * person reads for each field.
 */

import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { FieldErrors } from "./components.ts";

/**
 * The first problem with each field of `value` under `schema`, in the words
 * of `messages` (by field name; a field without a message gets a plain one).
 */
export function fieldErrors(schema: TSchema, value: unknown, messages: Record<string, string>): FieldErrors {
  const errors: FieldErrors = {};
  for (const error of Value.Errors(schema, value)) {
    const name = error.path.split("/")[1] ?? "form";
    errors[name] ??= messages[name] ?? "Check this value.";
  }
  return errors;
}

export function hasErrors(errors: FieldErrors): boolean {
  return Object.values(errors).some((message) => message !== undefined);
}
