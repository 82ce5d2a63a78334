/**
 * The OpenAPI 3.1 description served at `/openapi/json`, built once from the
 * routes' own `t` models by `@elysiajs/openapi`'s generator, then finished
 * here where the generator cannot know our transport:
 *
 * - Request bodies. Every JSON body passes through our bounded parser (an
 *   `onParse` function, server/http/error-boundary.ts), and the generator
 *   documents a body only for the parsers it recognises by name; so each
 *   body is described here from the route's own model, as JSON, optional
 *   when the model is.
 * - Literal unions. The generator writes every union of literals as
 *   `{type: "string", enum}`, numbers and booleans included; the type is
 *   set here from the values.
 * - `x-lime-*` hints routes leave for this builder are removed.
 *
 * The document is prepared on the first request and served as the same
 * bytes afterwards: routes do not change while the server runs.
 */
import { createHash } from "node:crypto";
import { toOpenAPISchema } from "@elysiajs/openapi";
import { type AnyElysia, Elysia } from "elysia";
// Replaces the per-check zod schemas that importing `@elysiajs/openapi` registers for `uuid` and `email`.
import "./schema-formats.ts";

type Json = Record<string, unknown>;

export interface DocumentOptions {
  info: Json;
  tags: Json[];
  securitySchemes: Json;
}

/** TypeBox marks optional schemas with this symbol (`Type.Optional`). */
const OPTIONAL = Symbol.for("TypeBox.Optional");

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

/** A TypeBox schema as plain JSON Schema (symbols dropped); `required` false for `t.Optional`. */
function bodyOf(schema: unknown): { schema: Json; required: boolean } {
  const required = !(typeof schema === "object" && schema !== null && OPTIONAL in schema);
  return { schema: JSON.parse(JSON.stringify(schema)) as Json, required };
}

/** The JSON type of an enum's values, or undefined when they mix types. */
function enumType(values: unknown[]): string | undefined {
  if (values.every((value) => typeof value === "string")) return "string";
  if (values.every((value) => Number.isInteger(value))) return "integer";
  if (values.every((value) => typeof value === "number")) return "number";
  if (values.every((value) => typeof value === "boolean")) return "boolean";
  return undefined;
}

/** Gives every `enum` the type of its values, throughout the document. */
function typeEnums(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) typeEnums(item);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const record = node as Json;
  if (Array.isArray(record.enum) && record.type === "string") {
    const type = enumType(record.enum);
    if (type === undefined) delete record.type;
    else record.type = type;
  }
  for (const value of Object.values(record)) typeEnums(value);
}

function openapiPath(path: string): string {
  return path.replace(/:([^/]+)/g, "{$1}");
}

export function buildOpenApiDocument(app: AnyElysia, options: DocumentOptions): Json {
  const { paths, components } = toOpenAPISchema(app, { staticFile: false }) as {
    paths: Record<string, Record<string, Json>>;
    components: { schemas?: Json };
  };
  for (const route of app.routes) {
    const method = route.method.toLowerCase();
    const operation = paths[openapiPath(route.path)]?.[method];
    if (!METHODS.has(method) || operation === undefined) continue;
    const hooks = route.hooks as { body?: unknown } | undefined;
    if (hooks?.body !== undefined && method !== "get" && method !== "head") {
      const { schema, required } = bodyOf(hooks.body);
      operation.requestBody = {
        required,
        content: { "application/json": { schema } },
      };
    }
    for (const key of Object.keys(operation)) if (key.startsWith("x-lime-")) delete operation[key];
  }
  typeEnums(paths);
  return {
    openapi: "3.1.1",
    info: options.info,
    tags: options.tags,
    paths,
    components: { ...components, securitySchemes: options.securitySchemes },
  };
}

/** `GET <path>`: the description, prepared once (body and ETag), revalidated by `If-None-Match`. */
export function openapiDocumentRoute(path: string, app: () => AnyElysia, options: DocumentOptions) {
  let prepared: { body: string; etag: string } | undefined;
  const prepare = () => {
    if (prepared === undefined) {
      const body = JSON.stringify(buildOpenApiDocument(app(), options));
      const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
      prepared = { body, etag };
    }
    return prepared;
  };
  return new Elysia({ name: "lime-openapi-document" }).get(
    path,
    ({ request }) => {
      const { body, etag } = prepare();
      const headers = {
        etag,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      };
      if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
      return new Response(body, {
        headers: { ...headers, "content-type": "application/json; charset=utf-8" },
      });
    },
    { detail: { hide: true } },
  );
}
