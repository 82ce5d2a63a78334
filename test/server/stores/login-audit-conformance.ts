/**
 * The agent login's audit rows commit in the transaction of the change they
 * record (docs/decisions/server-cpu-profile.md): a request or an approval is
 * stored with its rows or not at all, and an approval that loses the consume
 * writes none. Run for every backend that holds both stores.
 */

import { describe, expect, test } from "bun:test";
import type { AuditEventRecord, AuditStore } from "../../../server/foundation/audit/store.ts";
import type { AgentLoginStore } from "../../../server/modules/agent-login/store.ts";
import { type Factory, loginRequest } from "./conformance.ts";

export interface LoginAuditStores {
  login: AgentLoginStore;
  audit: AuditStore;
}

const T0 = 1_800_000_000_000;

function auditRow(ownerId: string, action: string, targetId: string): AuditEventRecord {
  return {
    id: crypto.randomUUID(),
    occurredAt: T0,
    ownerId,
    actorType: "agent",
    actorId: null,
    action,
    outcome: "success",
    targetType: "login_request",
    targetId,
    reason: null,
    ip: null,
  };
}

function approval(id: string, audit: AuditEventRecord[]) {
  return {
    id,
    agentId: crypto.randomUUID(),
    passportJwt: `jwt-${id}`,
    passportExpiresAt: T0 + 60_000,
    now: T0,
    audit,
  };
}

async function actions(audit: AuditStore, ownerId: string): Promise<string[]> {
  const page = await audit.listByOwner(ownerId, 50, null);
  return page.events.map((e) => e.action).reverse();
}

export function loginAuditConformance(name: string, factory: Factory<LoginAuditStores>): void {
  describe(`agent login audit rows in the change's transaction: ${name}`, () => {
    test("create and approve store their rows with the change, in order", async () => {
      const { store, addOwner, addSite, close } = await factory();
      try {
        const owner = await addOwner();
        const request = loginRequest(await addSite(owner));
        const created = auditRow(owner, "login_request.created", request.id);
        await store.login.create(request, [created]);
        expect(await store.login.findById(request.id)).toEqual(request);
        expect((await store.audit.listByOwner(owner, 10, null)).events).toEqual([created]);

        const rows = [
          auditRow(owner, "login_request.approved", request.id),
          auditRow(owner, "passport.issued", request.id),
        ];
        expect(await store.login.approve(approval(request.id, rows))).not.toBeNull();
        expect(await actions(store.audit, owner)).toEqual([
          "login_request.created",
          "login_request.approved",
          "passport.issued",
        ]);
      } finally {
        await close();
      }
    });

    test("an approval that loses the consume writes none of its rows", async () => {
      const { store, addOwner, addSite, close } = await factory();
      try {
        const owner = await addOwner();
        const request = loginRequest(await addSite(owner));
        await store.login.create(request);
        const results = await Promise.all(
          [1, 2, 3, 4].map(() =>
            store.login.approve(approval(request.id, [auditRow(owner, "won", request.id)])),
          ),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
        expect(await actions(store.audit, owner)).toEqual(["won"]);
        expect(
          await store.login.approve(approval(crypto.randomUUID(), [auditRow(owner, "unknown", "x")])),
        ).toBeNull();
        expect(await actions(store.audit, owner)).toEqual(["won"]);
      } finally {
        await close();
      }
    });

    test("a row that cannot be written undoes the change it records", async () => {
      const { store, addOwner, addSite, close } = await factory();
      try {
        const owner = await addOwner();
        const siteId = await addSite(owner);
        const taken = auditRow(owner, "taken", "x");
        await store.audit.append(taken);
        // The same event id again breaks the unique index: the INSERT fails inside the transaction.
        const request = loginRequest(siteId);
        await expect(store.login.create(request, [taken])).rejects.toThrow();
        expect(await store.login.findById(request.id)).toBeNull();

        const pending = loginRequest(siteId);
        await store.login.create(pending);
        await expect(
          store.login.approve(approval(pending.id, [auditRow(owner, "ok", pending.id), taken])),
        ).rejects.toThrow();
        expect((await store.login.findById(pending.id))?.status).toBe("PENDING");
        expect(await store.login.undeliveredEvents(siteId, T0)).toEqual([]);
        expect(await actions(store.audit, owner)).toEqual(["taken"]);
      } finally {
        await close();
      }
    });
  });
}
