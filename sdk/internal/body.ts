/**
 * Reads a response body as text with a byte ceiling. `response.text()`
 * buffers whatever the peer sends; a hostile or broken server (or anything
 * between us) could send gigabytes within one timeout. Every answer the
 * SDKs read is small (an envelope, a key set), so a declared or actual
 * size over the ceiling is refused and the rest of the body is cancelled
 * unread.
 */
import { LimeSdkError } from "../errors.ts";

/** Envelopes, token responses, error bodies: the largest is a passport of at most 64 KiB. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export async function readTextLimited(response: Response, maxBytes: number, what: string): Promise<string> {
  const tooLarge = () =>
    new LimeSdkError("SDK_INVALID_RESPONSE", `${what}: the response is larger than ${maxBytes} bytes`, {
      detail: { status: response.status, maxBytes },
    });
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  let received = 0;
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) throw tooLarge();
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return text + decoder.decode();
}
