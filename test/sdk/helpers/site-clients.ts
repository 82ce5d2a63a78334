/**
 * Site clients closed after every test, even one that fails halfway: an open
 * SiteClient keeps its event stream and reconnects forever, so a test that
 * threw before its own `close()` would go on talking to the server (and
 * rejecting waits) during the tests after it.
 */
import { afterEach } from "bun:test";
import type { SiteClient } from "@lime-ts/sdk";

/** Registers the afterEach hook; the function it returns hands back each site it is given, to be closed. */
export function siteClientsClosedAfterEach(): <T extends SiteClient>(site: T) => T {
  const open = new Set<SiteClient>();
  afterEach(async () => {
    const sites = [...open];
    open.clear();
    await Promise.all(sites.map((site) => site.close()));
  });
  return (site) => {
    open.add(site);
    return site;
  };
}
