import { describe, expect, it } from 'vitest';
import {
  ariaSort,
  compareCells,
  matchesFilter,
  nextSort,
  redundantKeys,
  sortRows,
  unionKeys,
  varyingKeys,
  winners,
} from '../../../src-renderer/lib/table.js';

describe('compareCells', () => {
  it('orders numbers numerically and names naturally', () => {
    expect([10, 9, 100].sort((a, b) => compareCells(a, b))).toEqual([9, 10, 100]);
    expect(['run10', 'run9', 'Run1'].sort((a, b) => compareCells(a, b))).toEqual(['Run1', 'run9', 'run10']);
  });
  it('puts missing values last in both directions', () => {
    const asc = [null, 2, undefined, 1].sort((a, b) => compareCells(a, b, 'ascending'));
    const desc = [null, 2, Number.NaN, 1].sort((a, b) => compareCells(a, b, 'descending'));
    expect(asc.slice(0, 2)).toEqual([1, 2]);
    expect(desc.slice(0, 2)).toEqual([2, 1]);
  });
});

describe('sortRows', () => {
  const rows: Array<{ name: string; lr: number | null }> = [
    { name: 'a', lr: 3e-5 },
    { name: 'b', lr: 1e-5 },
    { name: 'c', lr: 3e-5 },
    { name: 'd', lr: null },
  ];
  const read = (r: { name: string; lr: number | null }, key: string) => (key === 'lr' ? r.lr : r.name);
  it('is stable and leaves the order alone without a sort', () => {
    expect(sortRows(rows, { key: 'lr', direction: 'descending' }, read).map((r) => r.name)).toEqual([
      'a',
      'c',
      'b',
      'd',
    ]);
    expect(sortRows(rows, null, read).map((r) => r.name)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('header sort state', () => {
  it('starts in the given direction and flips on the same column', () => {
    const first = nextSort(null, 'top1', 'descending');
    expect(first).toEqual({ key: 'top1', direction: 'descending' });
    expect(nextSort(first, 'top1')).toEqual({ key: 'top1', direction: 'ascending' });
    expect(nextSort(first, 'name')).toEqual({ key: 'name', direction: 'ascending' });
    expect(ariaSort(first, 'top1')).toBe('descending');
    expect(ariaSort(first, 'name')).toBe('none');
  });
});

describe('matchesFilter', () => {
  it('needs every term somewhere, case-insensitively', () => {
    expect(matchesFilter(['lr3e-5_wd0.1', 'family A'], 'WD0.1 family')).toBe(true);
    expect(matchesFilter(['lr3e-5_wd0.1'], 'wd0.1 epochs')).toBe(false);
    expect(matchesFilter(['x'], '   ')).toBe(true);
  });
});

describe('unionKeys and varyingKeys', () => {
  it('lists common keys first, then by first appearance', () => {
    const records = [{ lr: 1, seed: 0 }, { lr: 2, wd: 0.1 }, { lr: 3, wd: 0.1, epochs: 10 }, null];
    expect(unionKeys(records)).toEqual(['lr', 'wd', 'seed', 'epochs']);
    expect(varyingKeys(records, ['lr', 'wd', 'seed'])).toEqual(['lr', 'wd', 'seed']);
    expect(varyingKeys([{ a: 1 }, { a: 1 }], ['a'])).toEqual([]);
    expect(varyingKeys([{ a: 1, b: 2 }, { a: 1, b: 3 }, {}, null], ['a', 'b'])).toEqual(['b']);
    expect(varyingKeys([{ a: 1 }, { b: 1 }], ['a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('winners', () => {
  it('marks the best value, ties included, and nothing when all are equal', () => {
    expect(winners([0.8, 0.9, null, 0.9], 'higher')).toEqual([1, 3]);
    expect(winners([0.3, 0.1, 0.2], 'lower')).toEqual([1]);
    expect(winners([0.5, 0.5], 'higher')).toEqual([]);
    expect(winners([0.5, null], 'higher')).toEqual([]);
  });
});

describe('redundantKeys', () => {
  it('drops the shorter of two keys that always agree (folder name vs config file)', () => {
    const records = [
      { lr: 3e-4, wd: '0.1', weight_decay: 0.1, aug: 'on', augment: true, seed: 1 },
      { lr: 1e-3, wd: '0', weight_decay: 0, aug: 'off', augment: false, seed: 1 },
      {},
    ];
    const drop = redundantKeys(records, ['lr', 'wd', 'weight_decay', 'aug', 'augment', 'seed']);
    expect([...drop].sort()).toEqual(['aug', 'wd']);
  });
});
