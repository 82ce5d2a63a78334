/**
 * Reading the passport a request presents: `Authorization: AgentPassport
 * <jwt>` (what `AgentClient.fetch` sends; the scheme is `sdk/scheme.ts`'s,
 * matched case-insensitively as RFC 9110 §11.1 says).
 */
import { LimeSdkError } from "../errors.ts";
import { PASSPORT_AUTH_SCHEME } from "../scheme.ts";

/** The JWT of `Authorization: AgentPassport <jwt>`; SDK_PASSPORT_MISSING otherwise. */
export function passportFrom(request: Request): string {
  const header = request.headers.get("authorization");
  const match =
    header === null
      ? null
      : /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +([A-Za-z0-9._~+/-]+=*)$/.exec(header.trim());
  if (match === null || match[1]!.toLowerCase() !== PASSPORT_AUTH_SCHEME.toLowerCase()) {
    throw new LimeSdkError("SDK_PASSPORT_MISSING", `no ${PASSPORT_AUTH_SCHEME} credentials in Authorization`);
  }
  return match[2]!;
}
