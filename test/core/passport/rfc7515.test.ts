/**
 * RFC 7515 Appendix A.2: the RS256 example. RSASSA-PKCS1-v1_5 is
 * deterministic, so LIME's signer must reproduce the published signature
 * byte for byte from the published key and signing input.
 */
import { describe, expect, test } from "bun:test";
import { encodeBase64url } from "../../../core/encoding/base64url.ts";
import { computeKid, createLocalJwks, importSigningKey, toPublicJwk } from "../../../core/keys/index.ts";
import { rs256Sign } from "../../../core/passport/rs256.ts";
import { verifyJws } from "../../../core/passport/verify.ts";
import { caught, RS256_BACKENDS, rs256Verifier } from "./fixtures.ts";

/** RFC 7515 A.2.1: the RSA key. */
const A2_KEY = {
  kty: "RSA",
  n: "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
  e: "AQAB",
  d: "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
  p: "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
  q: "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
  dp: "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
  dq: "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
  qi: "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U",
};

/** RFC 7515 A.2.1: JWS Signing Input for {"alg":"RS256"} and the A.1 payload. */
const A2_SIGNING_INPUT =
  "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

/** RFC 7515 A.2.1: the resulting signature. */
const A2_SIGNATURE =
  "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

describe("RFC 7515 Appendix A.2 (RS256)", () => {
  test("A.2.1: the signer reproduces the published signature byte for byte", async () => {
    const key = await importSigningKey(A2_KEY);
    const signature = await rs256Sign(key.privateKey, new TextEncoder().encode(A2_SIGNING_INPUT));
    expect(encodeBase64url(signature)).toBe(A2_SIGNATURE);
  });

  test.each(RS256_BACKENDS)(
    "A.2.2 (%s): the published signature verifies with the public key, and a changed input does not",
    async (backend) => {
      const verifier = await rs256Verifier(A2_KEY, backend);
      const signature = new Uint8Array(Buffer.from(A2_SIGNATURE, "base64url"));
      expect(await verifier.verify(signature, new TextEncoder().encode(A2_SIGNING_INPUT))).toBe(true);
      expect(await verifier.verify(signature, new TextEncoder().encode(`${A2_SIGNING_INPUT}.`))).toBe(false);
    },
  );

  test("as published (no kid in the header) the A.2 token is refused: a LIME token must name its key", async () => {
    const publicJwk = await toPublicJwk(A2_KEY);
    expect(publicJwk.kid).toBe(await computeKid(A2_KEY));
    const jwks = createLocalJwks({ keys: [publicJwk] });
    const error = await caught(() => verifyJws(`${A2_SIGNING_INPUT}.${A2_SIGNATURE}`, jwks));
    expect(error.code).toBe("PASSPORT_MALFORMED");
  });
});
