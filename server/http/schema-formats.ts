/**
 * The string formats our `t` models use, checked by one precompiled regular
 * expression each.
 *
 * Importing `@elysiajs/openapi` registers TypeBox checkers for `uuid`,
 * `email` and other formats (through its bundled TypeMap) that build a new
 * zod schema on every check: measured as a quarter of the server's
 * JavaScript time during login flows, every request id and every response
 * with an id paying for it (docs/decisions/server-cpu-profile.md). The
 * checkers set here accept exactly what those did (zod 4's `uuid()` and
 * `email()` patterns; test/server/http/schema-formats.test.ts compares them
 * with the originals on generated input) without the allocation.
 *
 * This module imports `@elysiajs/openapi` first, so its registrations are the
 * ones replaced whatever the import order elsewhere.
 */
import "@elysiajs/openapi";
import { FormatRegistry } from "@sinclair/typebox";

/** zod 4's `z.string().uuid()`: RFC 9562 versions 1–8 with the RFC variant, or the nil and max UUIDs. */
const UUID =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;

/** zod 4's `z.string().email()`. */
const EMAIL =
  /^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;

/** The checkers replaced, by format name: what the formats meant before this module ran. */
export const replacedFormatCheckers: ReadonlyMap<string, (value: string) => boolean> = new Map(
  ["uuid", "email"].flatMap((name) => {
    const checker = FormatRegistry.Get(name);
    return checker ? [[name, checker] as const] : [];
  }),
);

FormatRegistry.Set("uuid", (value) => UUID.test(value));
FormatRegistry.Set("email", (value) => EMAIL.test(value));
