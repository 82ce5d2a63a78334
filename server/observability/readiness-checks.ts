/** The readiness checks `createApp` adds itself; other backends pass their own (readiness.ts). */

import type { Database } from "bun:sqlite";
import type { KeyRing } from "../core/keys/service.ts";
import type { ReadinessCheck } from "./readiness.ts";

/** The SQLite database answers a trivial query (it fails once the handle is closed or the file is gone). */
export function sqliteReadinessCheck(db: Database): ReadinessCheck {
  return {
    name: "database",
    async check() {
      db.query("SELECT 1").get();
    },
  };
}

/** A CURRENT signing key is loaded: without one no passport can be signed. */
export function signingKeysReadinessCheck(keyRing: Pick<KeyRing, "current">): ReadinessCheck {
  return {
    name: "signing_keys",
    async check() {
      if (!keyRing.current()?.kid) throw new Error("no current signing key is loaded");
    },
  };
}
