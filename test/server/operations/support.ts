/** Helpers for the operations tests: reading the Prometheus text format, and one real agent login. */

import { expect } from "bun:test";
import type { Provisioned, TestServer } from "../../../server/testing.ts";
import { api, solvePow, wrongNonce } from "../helpers.ts";

export const METRICS_TOKEN = "m".repeat(40);
export const REQUESTS = "/api/v1/modules/agent-login/requests";

function parseLabels(raw: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of raw.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
  return labels;
}

/**
 * The sum of the samples of `name` whose labels include `labels`, or
 * undefined when there is none (the text format: `name{a="b"} 1`).
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = parseLabels(match[2] ?? "");
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      total = (total ?? 0) + Number(match[3]);
    }
  }
  return total;
}

/** `/metrics` as text, read with the token; fails the test on anything but 200. */
export async function scrape(base: string, token: string | null = METRICS_TOKEN): Promise<string> {
  const response = await fetch(`${base}/metrics`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return response.text();
}

export async function createLoginRequest(t: TestServer, p: Provisioned): Promise<string> {
  const created = await api(t.url, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": p.siteToken },
    json: {},
  });
  expect(created.status).toBe(201);
  return created.body.data.login_request_id as string;
}

/** A full agent login over HTTP: create, fetch the challenge, one wrong nonce, then the right one. */
export async function loginWithOneWrongNonce(t: TestServer, p: Provisioned): Promise<string> {
  const id = await createLoginRequest(t, p);
  const challenge = await api(t.url, `/api/v1/auth/requests/${id}`);
  expect(challenge.status).toBe(200);
  const { pow_challenge: powChallenge, pow_difficulty: difficulty } = challenge.body.data;
  const approve = (nonce: string) =>
    api(t.url, `${REQUESTS}/${id}/approve`, {
      method: "POST",
      headers: { "x-agent-token": p.agentToken },
      json: { pow_nonce: nonce },
    });
  expect((await approve(wrongNonce(powChallenge, difficulty))).body.error.code).toBe("INVALID_POW");
  const approved = await approve(await solvePow(powChallenge, difficulty));
  expect(approved.status).toBe(200);
  return id;
}
