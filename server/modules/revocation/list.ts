/**
 * The signed revocation list (`GET /api/v1/core/revocations`).
 *
 * The body is `{"ok": true, "data": {"list_jwt", "entries_json"}}`:
 * `entries_json` is the entries as JSON text, and `list_jwt` an RS256 JWT
 * signed with the passport keys (so it verifies against the same JWKS),
 * `typ` "revocation-list+jwt", `aud` "lime-revocation-list", whose
 * `entries_sha256` claim is the base64url SHA-256 of `entries_json`'s UTF-8
 * bytes. The entries travel beside the JWT rather than in it because a JWT
 * is capped at 8 KiB here (core `DEFAULT_MAX_TOKEN_BYTES`) and the list is
 * bounded by time, not by that.
 *
 * Signing is an RSA operation, and the route is public: the document is
 * signed once per change of the entries (or of the signing key), and again
 * only when it is `RESIGN_AFTER_MS` old, never per request. The entries are
 * read from the store at most once per `READ_EVERY_MS` (a fleet instance
 * learns another's revocation within that), and at once after a revocation
 * recorded on this instance.
 */

import { encodeBase64url } from "@lime-ts/core/encoding";
import { signJwt } from "@lime-ts/core/passport";
import type { Clock } from "../../clock.ts";
import type { KeyRing } from "../../core/keys/service.ts";
import { type Revocation, revocationWire } from "./entry.ts";
import type { RevocationStore } from "./store.ts";

export const REVOCATION_LIST_TYP = "revocation-list+jwt";
export const REVOCATION_LIST_AUDIENCE = "lime-revocation-list";
/** `sub` of the list JWT: what it speaks about. */
export const REVOCATION_LIST_SUBJECT = "passport-revocations";
/** The list JWT's lifetime: a verifier refuses a list older than this. */
export const LIST_LIFETIME_MS = 15 * 60_000;
/** An unchanged list is signed again once this old, so the one served always has most of its life ahead. */
export const RESIGN_AFTER_MS = 5 * 60_000;
/** Entries are read from the store at most this often. */
export const READ_EVERY_MS = 1_000;
/** `Cache-Control: public, max-age` of the list: short, since it carries revocations. */
export const LIST_MAX_AGE_SECONDS = 5;

export interface SignedRevocationList {
  /** The response body, bytes for bytes. */
  body: string;
  /** A strong validator over the body. */
  etag: string;
  entries: number;
}

export interface RevocationListDeps {
  clock: Clock;
  store: Pick<RevocationStore, "live">;
  keyRing: Pick<KeyRing, "current">;
  issuer: string;
}

export interface RevocationList {
  current(): Promise<SignedRevocationList>;
  /** Forget the entries read, so the next request reads them again (a revocation was recorded here). */
  invalidate(): void;
}

export function createRevocationList(deps: RevocationListDeps): RevocationList {
  let read: { at: number; entries: Revocation[] } | undefined;
  let reading: Promise<Revocation[]> | undefined;
  let signed: { key: string; signedAt: number; list: SignedRevocationList } | undefined;
  let signing: Promise<SignedRevocationList> | undefined;
  let generation = 0;

  const entries = async (): Promise<Revocation[]> => {
    const now = deps.clock.now();
    if (read !== undefined && now - read.at < READ_EVERY_MS)
      return read.entries.filter((e) => e.expiresAt > now);
    if (reading === undefined) {
      const started = generation;
      reading = deps.store
        .live(now)
        .then((live) => {
          if (started === generation) read = { at: now, entries: live };
          return live;
        })
        .finally(() => {
          reading = undefined;
        });
    }
    return reading;
  };

  const sign = async (entriesJson: string, key: string, now: number): Promise<SignedRevocationList> => {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(entriesJson));
    const iat = Math.floor(now / 1000);
    const listJwt = await signJwt(
      {
        iss: deps.issuer,
        sub: REVOCATION_LIST_SUBJECT,
        aud: REVOCATION_LIST_AUDIENCE,
        iat,
        exp: iat + LIST_LIFETIME_MS / 1000,
        jti: crypto.randomUUID(),
        entries_sha256: encodeBase64url(new Uint8Array(digest)),
      },
      deps.keyRing.current(),
      { typ: REVOCATION_LIST_TYP },
    );
    const body = JSON.stringify({ ok: true, data: { list_jwt: listJwt, entries_json: entriesJson } });
    const tag = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
    const list = {
      body,
      etag: `"${encodeBase64url(new Uint8Array(tag)).slice(0, 27)}"`,
      entries: (JSON.parse(entriesJson) as unknown[]).length,
    };
    signed = { key, signedAt: now, list };
    return list;
  };

  const current = async (): Promise<SignedRevocationList> => {
    const live = await entries();
    const now = deps.clock.now();
    const entriesJson = JSON.stringify(live.map(revocationWire));
    const key = `${deps.keyRing.current().kid}\n${entriesJson}`;
    if (signed !== undefined && signed.key === key && now - signed.signedAt < RESIGN_AFTER_MS) {
      return signed.list;
    }
    // Concurrent requests after a change share one signature.
    signing ??= sign(entriesJson, key, now).finally(() => {
      signing = undefined;
    });
    const list = await signing;
    // A signature that started before the entries changed answers nobody: sign the new ones.
    return signed?.key === key ? list : current();
  };

  return {
    current,
    invalidate() {
      generation += 1;
      read = undefined;
      reading = undefined;
    },
  };
}
