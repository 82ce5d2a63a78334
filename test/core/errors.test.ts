import { describe, expect, test } from "bun:test";
import { isLimeError, KeyError, LimeError, PassportError, PowError } from "../../core/errors.ts";

describe("core errors", () => {
  test("each subclass keeps its code and names itself after its class", () => {
    const error = new PassportError("PASSPORT_EXPIRED", "the passport expired");
    expect(error).toBeInstanceOf(LimeError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe("PASSPORT_EXPIRED");
    expect(error.name).toBe("PassportError");
    expect(new PowError("POW_ABORTED", "stopped").name).toBe("PowError");
    expect(new KeyError("KEY_TOO_SMALL", "1024 bits").name).toBe("KeyError");
  });

  test("the cause is kept for diagnostics", () => {
    const cause = new Error("underlying");
    expect(new KeyError("KEY_INVALID", "bad key", { cause }).cause).toBe(cause);
  });

  test("isLimeError recognises core errors from another bundle copy by their code", () => {
    const foreign = Object.assign(new Error("from another bundle"), { code: "PASSPORT_BAD_SIGNATURE" });
    expect(isLimeError(foreign)).toBe(true);
    expect(isLimeError(new PowError("POW_INVALID_NONCE", "x"))).toBe(true);
  });

  test("isLimeError refuses errors that only look similar", () => {
    expect(isLimeError(Object.assign(new Error("fs"), { code: "ENOENT" }))).toBe(false);
    expect(isLimeError(Object.assign(new Error("lower"), { code: "passport_expired" }))).toBe(false);
    expect(isLimeError(new Error("plain"))).toBe(false);
    expect(isLimeError({ code: "PASSPORT_EXPIRED", message: "not an Error" })).toBe(false);
    expect(isLimeError(undefined)).toBe(false);
  });
});
