import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/core/store/database.js';
import { migrate, migrations } from '../../../src-main/core/store/migrations.js';
import { tempDir } from './helpers.js';

const insert = (nll: number | null, nonFinite: boolean) => `
  INSERT INTO evaluations (model_hash, model_label, model_kind, evalset_hash, evalset_name, evalset_path,
    provider, ort_version, batch_size, duration_ms, n, correct, top1, nll, ece, per_class, created_at
    ${nonFinite ? ', non_finite' : ''})
    VALUES ('m${nll ?? 'x'}', 'run', 'ingredient', 'e', 'test', '/k/test.safetensors', 'cpu', '1.30.0', 64, 1,
    10, 1, 0.1, ${nll ?? 'NULL'}, ${nll === null ? 'NULL' : 0.1}, '[]', '2026-01-01T00:00:00Z'
    ${nonFinite ? ', 10' : ''})`;

describe('migration 6: non-finite metrics', () => {
  it('keeps stored evaluations (all finite: non_finite 0) and then accepts NULL NLL and ECE', () => {
    const file = path.join(tempDir(), 'v5.sqlite');
    const old = new BetterSqlite3(file);
    migrate(old, migrations.slice(0, 5));
    old.exec(insert(2, false));
    expect(() => old.exec(insert(null, false))).toThrow(/NOT NULL constraint failed: evaluations.nll/);
    old.close();
    const db = openDatabase(file);
    expect(db.prepare('SELECT nll, ece, non_finite FROM evaluations').all()).toEqual([
      { nll: 2, ece: 0.1, non_finite: 0 },
    ]);
    db.exec(insert(null, true));
    expect(db.prepare('SELECT nll, ece, non_finite FROM evaluations WHERE nll IS NULL').all()).toEqual([
      { nll: null, ece: null, non_finite: 10 },
    ]);
    db.close();
  });
});
