/**
 * Regression: the server answered protocol errors from Bun.serve's parser,
 * bare and sometimes as a server error: a request target with a space was
 * `505 HTTP Version Not Supported`. The transport (server/http/transport.ts)
 * now answers every malformed request with a 4xx in the API's envelope and
 * closes the connection; headers that never finish arriving are cut.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startTestServer, type TestServer } from "../../../server/testing.ts";

let t: TestServer;
let port: number;

beforeAll(async () => {
  t = await startTestServer({
    config: {
      http: {
        headersTimeoutMs: 1000,
        requestTimeoutMs: 2000,
        keepAliveTimeoutMs: 5000,
        maxHeaderBytes: 16 * 1024,
      },
    },
  });
  port = Number(new URL(t.url).port);
});

afterAll(async () => {
  await t.stop();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  closed: boolean;
}

/** Sends `bytes` on a fresh connection and reads until the server closes it (or `waitMs` passes). */
function raw(bytes: string, waitMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let text = "";
    const timer = setTimeout(() => finish(false), waitMs);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const [head = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n"), closed });
    };
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
    });
    socket.on("close", () => finish(true));
    socket.on("error", reject);
  });
}

function expectEnvelope(answer: RawAnswer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers["content-type"]).toStartWith("application/json");
  expect(answer.headers.connection).toBe("close");
  expect(JSON.parse(answer.body)).toMatchObject({ ok: false, error: { code } });
  expect(answer.closed).toBe(true);
}

describe("protocol errors are 4xx envelopes, never 5xx", () => {
  test("a request target with a space is 400 MALFORMED_REQUEST (was a bare 505)", async () => {
    expectEnvelope(await raw("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "MALFORMED_REQUEST");
  });

  test("an unsupported protocol version is 400, not 505", async () => {
    expectEnvelope(await raw("GET /health HTTP/2.0\r\nHost: x\r\n\r\n"), 400, "MALFORMED_REQUEST");
    expectEnvelope(await raw("GET /health HTTP/9.9\r\nHost: x\r\n\r\n"), 400, "MALFORMED_REQUEST");
  });

  test("garbage instead of a request line is 400", async () => {
    expectEnvelope(
      await raw("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
      400,
      "MALFORMED_REQUEST",
    );
    expectEnvelope(await raw("GET\r\n\r\n"), 400, "MALFORMED_REQUEST");
  });

  test("a malformed header line or a bad chunked body is 400", async () => {
    expectEnvelope(
      await raw("GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"),
      400,
      "MALFORMED_REQUEST",
    );
    expectEnvelope(
      await raw(
        "POST /api/v1/foundation/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      ),
      400,
      "MALFORMED_REQUEST",
    );
  });

  test("both Content-Length and Transfer-Encoding (request smuggling) is 400", async () => {
    expectEnvelope(
      await raw(
        "POST /api/v1/foundation/users/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      ),
      400,
      "MALFORMED_REQUEST",
    );
  });

  test("headers over the limit are 431 HEADERS_TOO_LARGE", async () => {
    const big = "a".repeat(20 * 1024);
    expectEnvelope(
      await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`),
      431,
      "HEADERS_TOO_LARGE",
    );
  });

  test("headers that never finish arriving are cut with 408 REQUEST_TIMEOUT (slow loris)", async () => {
    const answer = await raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n", 15_000);
    expectEnvelope(answer, 408, "REQUEST_TIMEOUT");
  }, 20_000);

  test("an absolute-form target is served by its path (RFC 9112 §3.2.2)", async () => {
    const answer = await raw(
      "GET http://elsewhere.example/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ ok: true, data: { status: "ok" } });
  });

  test("the server keeps serving after all of the above", async () => {
    const response = await fetch(`${t.url}/health`);
    expect(response.status).toBe(200);
  });
});

describe("a body that trickles", () => {
  test("is cut with 408 once the request deadline passes, and the server keeps serving", async () => {
    const answer = await raw(
      'POST /api/v1/foundation/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
      15_000,
    );
    expectEnvelope(answer, 408, "REQUEST_TIMEOUT");
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  }, 20_000);
});
