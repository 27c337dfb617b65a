import { describe, expect, it } from 'vitest';
import {
  checkpointRows,
  displayName,
  familyNames,
  scoreColumns,
} from '../../../src-renderer/lib/checkpoints.js';
import type { Checkpoint, EvalSet, Evaluation, Family } from '../../../src-renderer/lib/domain.js';

function checkpoint(id: number, rel: string, extra: Partial<Checkpoint> = {}): Checkpoint {
  return {
    id,
    kitchenId: 1,
    root: '/k',
    path: `/k/${rel}`,
    relativePath: rel,
    format: 'onnx',
    bytes: 1000,
    params: 250,
    dtype: 'f32',
    familyId: 'fam1',
    isBase: false,
    sha256: null,
    graphPath: null,
    hyperparameters: {},
    hyperparameterSources: [],
    error: null,
    warnings: [],
    scannedAt: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

const family: Family = {
  id: 'fam1',
  root: '/k',
  kitchenId: 1,
  label: 'sweep',
  graphPath: null,
  params: 250,
  tensorCount: 4,
  members: ['/k/sweep/run-1/model.onnx', '/k/sweep/run-2/model.onnx'],
  base: '/k/base/model.onnx',
  duplicates: [
    { kept: '/k/sweep/run-1/model.onnx', duplicates: ['/k/sweep/run-3/model.onnx'], sha256: 'abc' },
  ],
  warnings: [],
};

describe('familyNames', () => {
  it('numbers families that share a folder label', () => {
    const names = familyNames([
      { id: 'a', label: 'bnk' },
      { id: 'b', label: 'sweep' },
      { id: 'c', label: 'bnk' },
    ]);
    expect([...names.values()]).toEqual(['bnk #1', 'sweep', 'bnk #2']);
  });
});

describe('checkpointRows', () => {
  it('joins family names, duplicates and held-out/test scores by path', () => {
    const sets = [
      { name: 'holdout', role: 'holdout', n: 100 },
      { name: 'test', role: 'id', n: 200 },
      { name: 'shift-a', role: 'shift', n: 50 },
    ] as EvalSet[];
    const columns = scoreColumns(sets);
    expect(columns.map((c) => [c.key, c.label])).toEqual([
      ['holdout', 'held-out'],
      ['test', 'test'],
    ]);
    const evaluations = [
      { model: { path: '/k/sweep/run-2/model.onnx' }, evalset: { name: 'holdout' }, top1: 0.75 },
      { model: { path: '/k/sweep/run-2/model.onnx' }, evalset: { name: 'shift-a' }, top1: 0.5 },
    ] as Evaluation[];
    const rows = checkpointRows(
      [
        checkpoint(1, 'base/model.onnx', { isBase: true }),
        checkpoint(2, 'sweep/run-2/model.onnx', { hyperparameters: { lr: 1e-4 } }),
        checkpoint(3, 'sweep/run-3/model.onnx'),
        checkpoint(5, 'sweep/run-1/model.onnx'),
        checkpoint(4, 'broken.onnx', {
          familyId: null,
          error: { code: 'bad_checkpoint', message: 'truncated' },
        }),
      ],
      [family],
      evaluations,
      columns,
    );
    expect(rows.map((r) => [r.name, r.family, r.isBase, r.duplicateOf])).toEqual([
      ['base', 'sweep', true, null],
      ['sweep/run-2', 'sweep', false, null],
      ['sweep/run-3', 'sweep', false, 'sweep/run-1'],
      ['sweep/run-1', 'sweep', false, null],
      ['broken.onnx', null, false, null],
    ]);
    expect(rows[1]!.scores).toEqual({ holdout: 0.75, test: null });
    expect(rows[4]!.error).toBe('truncated');
    expect(rows[4]!.params).toBeNull();
  });
  it("carries the scan's warnings with a short label, the message as the tooltip", () => {
    const message = 'x.pt: its pickle names posix.system, which would run code if the file were unpickled';
    const rows = checkpointRows(
      [
        checkpoint(1, 'x.pt', {
          format: 'pytorch',
          warnings: [
            { code: 'pickle_globals', message, globals: ['posix.system'] },
            { code: 'ema_weights', message: 'x.pt: holds EMA weights too' },
          ],
        }),
        checkpoint(2, 'y.pt', { format: 'pytorch' }),
      ],
      [],
      [],
      [],
    );
    expect(rows[0]!.warnings).toEqual([
      { code: 'pickle_globals', label: 'code in pickle', message },
      { code: 'ema_weights', label: 'EMA too', message: 'x.pt: holds EMA weights too' },
    ]);
    expect(rows[1]!.warnings).toEqual([]);
  });
  it('drops generic file names from display names', () => {
    expect(displayName('sweep-safetensors/run-13/model.safetensors')).toBe('sweep-safetensors/run-13');
    expect(displayName('a/weights.onnx')).toBe('a/weights.onnx');
  });
});

describe('scoreColumns with several kitchens', () => {
  it('gives one column per set name (two kitchens with holdout and test: keys stay unique)', () => {
    const sets = [
      { name: 'holdout', role: 'holdout', n: 2000 },
      { name: 'test', role: 'id', n: 2000 },
      { name: 'holdout', role: 'holdout', n: 2000 },
      { name: 'test', role: 'id', n: 500 },
      { name: 'shift-a', role: 'shift', n: 50 },
    ] as EvalSet[];
    const columns = scoreColumns(sets);
    expect(columns.map((c) => [c.key, c.label])).toEqual([
      ['holdout', 'held-out'],
      ['test', 'test'],
    ]);
    expect(columns[0]!.title).toBe('Top-1 on the holdout set "holdout" (N = 2,000)');
    expect(columns[1]!.title).toBe('Top-1 on the id test set "test"');
  });
});
