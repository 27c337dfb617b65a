import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/core/store/database.js';
import { latestVersion, migrate, migrations } from '../../../src-main/core/store/migrations.js';
import type { Migration } from '../../../src-main/core/store/migration.js';
import { tempDir } from './helpers.js';

const tables = (db: BetterSqlite3.Database) =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
      name: string;
    }>
  ).map((r) => r.name);

describe('migrations', () => {
  it('builds a fresh database at the latest version in WAL mode', () => {
    const file = path.join(tempDir(), 'fresh.sqlite');
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(tables(db)).toEqual(expect.arrayContaining(['kitchens', 'settings']));
    db.close();
  });

  it('upgrades a database from version 1, keeping its rows', () => {
    const file = path.join(tempDir(), 'old.sqlite');
    const old = new BetterSqlite3(file);
    migrate(old, migrations.slice(0, 1));
    old
      .prepare(
        "INSERT INTO kitchens (path, name, added_at) VALUES ('/sweep', 'sweep', '2026-01-01T00:00:00Z')",
      )
      .run();
    old.close();

    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(db.prepare('SELECT name FROM kitchens').all()).toEqual([{ name: 'sweep' }]);
    db.close();
  });

  it('drops evaluations keyed by the old eval-set hashes (version 4), keeping kitchens and recipes', () => {
    const file = path.join(tempDir(), 'v3.sqlite');
    const old = new BetterSqlite3(file);
    migrate(old, migrations.slice(0, 3));
    old.exec(`
      INSERT INTO kitchens (path, name, added_at) VALUES ('/sweep', 'sweep', '2026-01-01T00:00:00Z');
      INSERT INTO evaluations (model_hash, model_label, model_kind, evalset_hash, evalset_name, evalset_path,
        provider, ort_version, batch_size, duration_ms, n, correct, top1, nll, ece, per_class, created_at)
        VALUES ('m', 'run', 'ingredient', 'old', 'test', '/sweep/test.safetensors', 'cpu', '1.30.0', 64, 1,
        10, 1, 0.1, 2, 0.1, '[]', '2026-01-01T00:00:00Z');
      INSERT INTO recipes (method, label, document, created_at) VALUES ('uniform', 'u', '{}', '2026-01-01');
    `);
    old.close();
    const db = openDatabase(file);
    expect(db.prepare('SELECT count(*) AS n FROM evaluations').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM recipes').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT name FROM kitchens').all()).toEqual([{ name: 'sweep' }]);
    db.close();
  });

  it('is idempotent: a second run applies nothing', () => {
    const file = path.join(tempDir(), 'twice.sqlite');
    openDatabase(file).close();
    const db = new BetterSqlite3(file);
    expect(migrate(db)).toEqual({ from: latestVersion(), to: latestVersion() });
    db.close();
  });

  it('rolls back a failing migration entirely', () => {
    const db = new BetterSqlite3(':memory:');
    const failing: Migration[] = [
      ...migrations.slice(0, 1),
      {
        version: 2,
        name: 'half done',
        up(d) {
          d.exec('CREATE TABLE half (x INTEGER)');
          throw new Error('boom');
        },
      },
    ];
    expect(() => migrate(db, failing)).toThrow('boom');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(tables(db)).not.toContain('half');
  });

  it('refuses a database written by a newer Tureen', () => {
    const db = new BetterSqlite3(':memory:');
    db.pragma('user_version = 999');
    expect(() => migrate(db)).toThrow(/newer than this Tureen/);
  });
});
