/** The binding's redirect rules and the URL the browser is sent back to (server/modules/bindings/redirect-uri.ts). */
import { describe, expect, test } from "bun:test";
import {
  bindingRedirectUrl,
  checkRedirectUri,
  redirectUriProblem,
} from "../../server/modules/bindings/redirect-uri.ts";

const ID = "6bbb8558-b648-48ae-8639-58cbfdaf0f69";

describe("bindingRedirectUrl", () => {
  test("the site's query is kept byte for byte, the binding's parameters follow it", () => {
    expect(bindingRedirectUrl("https://shop.example/cb", ID, { passport: "a.b.c" })).toBe(
      `https://shop.example/cb?passport=a.b.c&binding_id=${ID}`,
    );
    expect(
      bindingRedirectUrl("https://shop.example/cb?x=a%20b&y=1+2&flag", ID, { error: "access_denied" }),
    ).toBe(`https://shop.example/cb?x=a%20b&y=1+2&flag&error=access_denied&binding_id=${ID}`);
    expect(bindingRedirectUrl("https://shop.example/cb?", ID, { passport: "p" })).toBe(
      `https://shop.example/cb?passport=p&binding_id=${ID}`,
    );
    expect(bindingRedirectUrl("http://127.0.0.1:8080/a/b/?q=%E2%9C%93", ID, { passport: "p" })).toBe(
      `http://127.0.0.1:8080/a/b/?q=%E2%9C%93&passport=p&binding_id=${ID}`,
    );
  });

  test("what the binding adds reads back exactly, whatever it holds", () => {
    const url = new URL(bindingRedirectUrl("https://shop.example/cb?a=1", "id&x=y", { passport: "eyJ+/=" }));
    expect(url.searchParams.getAll("passport")).toEqual(["eyJ+/="]);
    expect(url.searchParams.getAll("binding_id")).toEqual(["id&x=y"]);
    expect(url.searchParams.get("a")).toBe("1");
  });
});

describe("redirect_uri rules", () => {
  test("accepted: https on the origin (path, query, default port), http on loopback origins", () => {
    for (const [uri, origin] of [
      ["https://shop.example/cb", "https://shop.example"],
      ["https://shop.example:443/cb?next=/x", "https://shop.example"],
      ["HTTPS://SHOP.EXAMPLE/cb", "https://shop.example"],
      ["http://localhost:3000/cb", "http://localhost:3000"],
      ["http://127.1.2.3/cb", "http://127.1.2.3"],
      ["http://[::1]:4000/cb", "http://[::1]:4000"],
    ]) {
      expect([uri, redirectUriProblem(uri!, origin!)]).toEqual([uri, null]);
    }
    expect(checkRedirectUri("HTTPS://SHOP.EXAMPLE:443/cb", "https://shop.example")).toBe(
      "https://shop.example/cb",
    );
  });

  test("refused with the rule's name", () => {
    for (const [uri, problem] of [
      ["http://localhost.evil.example/cb", "insecure_scheme"],
      ["http://128.0.0.1/cb", "insecure_scheme"],
      ["data:text/html,hi", "insecure_scheme"],
      ["https://shop.example/cb#", "fragment"],
      ["https://:pw@shop.example/cb", "credentials"],
      ["https://shop.example/cb?error=x", "reserved_parameter"],
      ["https://www.shop.example/cb", "origin_mismatch"],
      ["", "not_absolute"],
    ]) {
      expect([uri, redirectUriProblem(uri!, "https://shop.example")]).toEqual([uri, problem]);
    }
  });
});
