/**
 * The `domain` an MCP access token is asked for: the host of the MCP
 * server (with its port when not the default), lowercased. Accepts a bare
 * host ("tools.example", "tools.example:8443") or a URL
 * ("https://tools.example/mcp"). Two spellings of one server share one
 * cache entry and one token.
 */
export function mcpDomain(target: string | URL): string {
  const text = target instanceof URL ? target.href : target;
  if (typeof text !== "string" || text.trim() === "")
    throw new TypeError("mcpAccessToken: target must be a host or URL");
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
  } catch {
    throw new TypeError("mcpAccessToken: target is not a valid host or URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError("mcpAccessToken: target must be an http(s) URL or a host");
  }
  if (url.username !== "" || url.password !== "")
    throw new TypeError("mcpAccessToken: target must not carry credentials");
  return url.host.toLowerCase();
}
