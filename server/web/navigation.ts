/** Redirects between pages, and the `next` page a sign-in returns to. */

/** `303 See Other` to a page of ours (after a form post, the browser follows with a GET). */
export function redirectTo(path: string, setCookies: readonly string[] = []): Response {
  const headers = new Headers({ location: path, "cache-control": "no-store" });
  for (const cookie of setCookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

/**
 * The page to return to after signing in: a path on this server, never
 * another origin (`//evil.example`, `/\evil.example` and `https://…` are
 * open redirects), else the overview.
 */
export function safeNextPath(value: unknown): string {
  if (typeof value !== "string" || value.length > 2048) return "/";
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    // A control character (a line break, say) could split the Location header or the URL.
    if (code < 0x20 || code === 0x7f) return "/";
  }
  return value;
}

/** The sign-in page, set to come back to `request`'s page afterwards. */
export function signInFirst(request: Request): Response {
  const url = new URL(request.url);
  return redirectTo(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`);
}
