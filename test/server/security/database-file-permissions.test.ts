/**
 * Regression: the SQLite file (password hashes, owner emails, audit
 * addresses, live site-login passports) and its -wal/-shm files were created
 * with the process umask, world-readable on a typical host (0644).
 */

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe("a new database is private to its owner", () => {
  test("the file, its WAL and shared-memory files, and a new directory allow no group or other access", () => {
    const root = mkdtempSync(join(tmpdir(), "lime-perms-"));
    dirs.push(root);
    const path = join(root, "data", "lime.sqlite");
    const previous = process.umask(0o022);
    try {
      const db = openDatabase(path);
      db.exec("CREATE TABLE probe (x INTEGER); INSERT INTO probe VALUES (1)");
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(mode(file) & 0o077).toBe(0);
      expect(mode(join(root, "data")) & 0o077).toBe(0);
      db.close();
    } finally {
      process.umask(previous);
    }
  });

  test("an existing database opens as before", () => {
    const root = mkdtempSync(join(tmpdir(), "lime-perms-"));
    dirs.push(root);
    const path = join(root, "lime.sqlite");
    openDatabase(path).close();
    const reopened = openDatabase(path);
    expect(reopened.query("SELECT MAX(version) AS v FROM schema_migrations").get()).toBeTruthy();
    reopened.close();
  });
});
