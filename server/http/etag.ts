/** RFC 9110 §13.1.2: `If-None-Match` is a list of entity tags or `*`; weak tags compare weakly. */
export function matchesIfNoneMatch(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

/** The OpenAPI description of the `If-None-Match` request header every cacheable document route takes. */
export const IF_NONE_MATCH_PARAMETER = {
  name: "if-none-match",
  in: "header",
  required: false,
  description: "An ETag from an earlier answer (or a list of them, or `*`): 304 when unchanged.",
  schema: { type: "string" },
} as const;
