/** The field readers every server answer goes through (sdk/internal/wire.ts). */
import { describe, expect, test } from "bun:test";
import { type Field, int, nested, num, optStr, readRecord, str, timestamp } from "../../sdk/internal/wire.ts";

function fieldError(read: () => unknown): unknown {
  try {
    read();
  } catch (error) {
    return error;
  }
  throw new Error("expected the read to throw");
}

describe("field readers", () => {
  const cases: [string, Field<unknown>, unknown[], unknown[]][] = [
    ["str", str("f"), ["a"], ["", 1, null, undefined, {}]],
    ["str with a check", str("f", (v) => v === "bearer"), ["bearer"], ["Bearer", ""]],
    ["optStr", optStr("f"), ["a", ""], [1, false, {}]],
    ["int", int("f"), [0, -3, 2 ** 40], [1.5, "1", Number.NaN, null]],
    ["num", num("f"), [0, 1.5, -2], [Number.NaN, Number.POSITIVE_INFINITY, "1", null]],
    ["num with a check", num("f", (v) => v > 0), [0.5], [0, -1]],
    ["timestamp", timestamp("f"), ["2026-11-26T12:00:00Z"], ["not a date", "", 5]],
  ];
  for (const [name, read, accepted, refused] of cases) {
    test(`${name} returns what it accepts and refuses the rest with SDK_INVALID_RESPONSE naming the field`, () => {
      for (const value of accepted) expect(read({ f: value }, "answer")).toBe(value);
      for (const value of refused) {
        expect(fieldError(() => read({ f: value }, "answer"))).toMatchObject({
          code: "SDK_INVALID_RESPONSE",
          message: 'answer: missing or invalid "f"',
          detail: { field: "f" },
        });
      }
    });
  }

  test("optStr reads an absent or null field as null", () => {
    expect(optStr("f")({}, "answer")).toBeNull();
    expect(optStr("f")({ f: null }, "answer")).toBeNull();
  });
});

describe("readRecord", () => {
  const table = {
    id: str("login_request_id"),
    site: nested("site", { siteId: str("site_id") }),
    note: optStr("note"),
  };

  test("maps the wire names to ours, nested objects included", () => {
    expect(
      readRecord({ login_request_id: "r1", site: { site_id: "s1" }, extra: 1 }, "request", table),
    ).toEqual({
      id: "r1",
      site: { siteId: "s1" },
      note: null,
    });
  });

  test("an answer (or a nested field) that is not an object is refused as field data", () => {
    for (const value of [null, "x", [], 3]) {
      expect(fieldError(() => readRecord(value, "request", table))).toMatchObject({
        detail: { field: "data" },
      });
      expect(
        fieldError(() => readRecord({ login_request_id: "r1", site: value }, "request", table)),
      ).toMatchObject({ message: 'request: missing or invalid "data"' });
    }
  });

  test("names the first bad field in the table's order, nested ones by their own name", () => {
    expect(fieldError(() => readRecord({ site: {} }, "request", table))).toMatchObject({
      detail: { field: "login_request_id" },
    });
    expect(
      fieldError(() => readRecord({ login_request_id: "r1", site: {} }, "request", table)),
    ).toMatchObject({
      message: 'request: missing or invalid "site_id"',
    });
  });
});
