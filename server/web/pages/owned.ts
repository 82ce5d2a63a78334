/**
 * Looking up a record by the id in a portal URL. An id that is not a UUID,
 * an unknown id and another owner's record all get the same "not found"
 * page, so the portal never tells one owner what another has.
 */

import { html } from "../html.ts";
import { type NavSection, renderPage } from "../layout.ts";
import type { PageOwner } from "../session.ts";
import { shellOwner } from "./portal-guard.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Record ids are UUIDs; anything else is refused before the store is asked. */
export function isRecordId(id: string): boolean {
  return UUID.test(id);
}

/** The owner's record with this id, or null (unknown, malformed or someone else's). */
export async function findOwned<R extends { ownerId: string }>(
  owner: PageOwner,
  id: string,
  findById: (id: string) => Promise<R | null>,
): Promise<R | null> {
  if (!isRecordId(id)) return null;
  const record = await findById(id);
  return record !== null && record.ownerId === owner.user.id ? record : null;
}

export interface NotFoundPage {
  /** What was looked for, capitalised ("Site"). */
  noun: string;
  section: NavSection;
  /** The list page to go back to, and what it holds ("your sites"). */
  listHref: string;
  listName: string;
}

export function notFoundPage(owner: PageOwner, page: NotFoundPage): Response {
  return renderPage({
    title: `${page.noun} not found`,
    owner: shellOwner(owner),
    current: page.section,
    status: 404,
    body: html`<h1>${page.noun} not found</h1><p>No such ${page.noun.toLowerCase()} in your account. <a href="${page.listHref}">See ${page.listName}</a>.</p>`,
  });
}
