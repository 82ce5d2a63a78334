/**
 * Regression: a request id is percent-encoded into the path, but
 * `encodeURIComponent` leaves "." and ".." as they are, and URL parsing
 * resolves them as dot segments: `getLoginRequest("..")` sent the site
 * token to `/api/v1/modules/agent-login/` instead of a request's path. A
 * request id usually comes from the other party (the agent gets it from the
 * site, a site may get it back from a browser), so it must never steer the
 * path. Such ids are now refused before any request.
 */
import { expect, test } from "bun:test";
import { AgentClient, SiteClient } from "@lime-ts/sdk";

for (const id of [".", ".."]) {
  test(`request id ${JSON.stringify(id)} is refused without a request`, async () => {
    const urls: string[] = [];
    const fetch = async (input: string | URL | Request) => {
      urls.push(new Request(input).url);
      return Response.json(
        { ok: false, error: { code: "NOT_FOUND", message: "x", detail: {} } },
        { status: 404 },
      );
    };
    const site = new SiteClient({
      baseUrl: "https://lime.test",
      siteToken: "lime_site_t",
      siteId: "s",
      fetch,
    });
    const agent = new AgentClient({ baseUrl: "https://lime.test", agentToken: "lime_agent_t", fetch });
    await expect(site.getLoginRequest(id)).rejects.toBeInstanceOf(TypeError);
    await expect(agent.getLoginChallenge(id)).rejects.toBeInstanceOf(TypeError);
    expect(urls).toEqual([]);
  });
}
