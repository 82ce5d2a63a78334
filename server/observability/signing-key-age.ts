/**
 * The age of the key that signs right now, for `lime_signing_key_age_seconds`:
 * a value past `KEY_ROTATION_INTERVAL_SECONDS` means scheduled rotation has
 * stopped. The ring knows which key signs; when it began signing is on its
 * stored row, read at scrape time (a handful of rows).
 */

import type { Clock } from "../clock.ts";
import type { KeyRing } from "../core/keys/service.ts";
import type { KeyStore } from "../core/keys/store.ts";

export function signingKeyAge(
  keyRing: Pick<KeyRing, "current">,
  keys: Pick<KeyStore, "list">,
  clock: Clock,
): () => Promise<number | null> {
  return async () => {
    const kid = keyRing.current().kid;
    const record = (await keys.list()).find((candidate) => candidate.kid === kid);
    if (record === undefined) return null;
    return Math.max(0, (clock.now() - (record.activatedAt ?? record.createdAt)) / 1000);
  };
}
