/**
 * How an agent presents its passport to a site: `Authorization:
 * AgentPassport <jwt>` (an RFC 9110 §11.6.2 auth-scheme of our own). A
 * distinct scheme keeps a passport from being mistaken for a site's own
 * Bearer session tokens, and lets a site answer `WWW-Authenticate:
 * AgentPassport` to say what it wants. Shared by `AgentClient.fetch` and the
 * site guards.
 */
export const PASSPORT_AUTH_SCHEME = "AgentPassport";
