/**
 * The LIME response envelope: `{"ok": true, "data": ...}` on success,
 * `{"ok": false, "error": {"code", "message", "detail"}}` on failure.
 */

import type { DomainErrorCode, ErrorDetail } from "../errors.ts";

export interface Success<T> {
  ok: true;
  data: T;
}

export interface Failure {
  ok: false;
  error: { code: DomainErrorCode; message: string; detail: ErrorDetail };
}

export function ok<T>(data: T): Success<T> {
  return { ok: true, data };
}

export function failure(code: DomainErrorCode, message: string, detail: ErrorDetail = {}): Failure {
  return { ok: false, error: { code, message, detail } };
}
