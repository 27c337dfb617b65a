import { describe, expect, it } from 'vitest';
import { columnWinners, compareCsv, compareRows, metricColumns } from '../../../src-renderer/lib/compare.js';
import type { ApiCompareShape } from '../../../src-renderer/lib/compare.js';

const metrics = (top1: number, nll = 0.5, ece = 0.05) => ({ top1, nll, ece });

const table: ApiCompareShape = {
  evalsets: [
    { name: 'shift-a', role: 'shift', n: 100 },
    { name: 'holdout', role: 'holdout', n: 50 },
    { name: 'test', role: 'id', n: 200 },
  ],
  rows: [
    {
      kind: 'greedy_soup',
      label: 'greedy soup',
      ingredients: ['a', 'b'],
      metrics: { holdout: metrics(0.9), test: metrics(0.85, 0.4, 0.02), 'shift-a': metrics(0.6) },
      meanShift: 0.6,
      params: 1000,
      relativeCost: 1,
      mcnemarP: { test: 0.01 },
    },
    {
      kind: 'ingredient',
      label: '/k/sweep/run-2/model.onnx',
      ingredients: ['/k/sweep/run-2/model.onnx'],
      metrics: { holdout: metrics(0.8), test: metrics(0.8), 'shift-a': metrics(0.5) },
      meanShift: 0.5,
      params: 1000,
      relativeCost: 1,
      mcnemarP: { test: 0.2 },
    },
    {
      kind: 'oracle',
      label: 'oracle',
      ingredients: ['a', 'b'],
      metrics: { holdout: metrics(0.95), test: metrics(0.9), 'shift-a': metrics(0.7) },
      meanShift: 0.7,
      params: 1000,
      relativeCost: 1,
      mcnemarP: {},
    },
    {
      kind: 'best_single',
      label: 'best single',
      ingredients: ['/k/sweep/run-2/model.onnx'],
      metrics: { holdout: metrics(0.8), test: metrics(0.8), 'shift-a': null },
      meanShift: null,
      params: 1000,
      relativeCost: 1,
      mcnemarP: { test: null },
    },
    {
      kind: 'ensemble',
      label: 'ensemble',
      ingredients: ['a', 'b'],
      metrics: { holdout: metrics(0.9), test: metrics(0.86, 0.39, 0.03), 'shift-a': metrics(0.58) },
      meanShift: 0.58,
      params: 1000,
      relativeCost: 2,
      mcnemarP: { test: 0.5 },
    },
  ],
};

describe('compareRows', () => {
  const view = compareRows(table, (label) => label.split('/').slice(-2, -1)[0] ?? label);
  it('orders sets by role and rows as ingredients, best single, oracle, soups, ensembles', () => {
    expect(view.sets.map((s) => s.name)).toEqual(['holdout', 'test', 'shift-a']);
    expect(view.rows.map((r) => r.kind)).toEqual([
      'ingredient',
      'best_single',
      'oracle',
      'greedy_soup',
      'ensemble',
    ]);
    expect(view.rows[0]!.label).toBe('run-2');
    expect(view.rows[1]!.detail).toBe('run-2');
  });
  it('reads NLL, ECE and McNemar on the in-distribution set', () => {
    expect(view.metricsSet).toBe('test');
    const greedy = view.rows.find((r) => r.kind === 'greedy_soup')!;
    expect(greedy.nll).toBe(0.4);
    expect(greedy.mcnemarP).toBe(0.01);
    expect(greedy.members).toBe(2);
    expect(view.rows.find((r) => r.kind === 'best_single')!.top1['shift-a']).toBeNull();
  });
  it('never lets the oracle win and picks lower NLL/ECE', () => {
    const columns = metricColumns(view.sets, true);
    expect(columns).toEqual(['top1:holdout', 'top1:test', 'top1:shift-a', 'meanShift', 'nll', 'ece']);
    const best = columnWinners(view.rows, columns);
    const kindOf = (id: string) => view.rows.find((r) => r.id === id)!.kind;
    expect([...best.get('top1:holdout')!].map(kindOf).sort()).toEqual(['ensemble', 'greedy_soup']);
    expect([...best.get('top1:test')!].map(kindOf)).toEqual(['ensemble']);
    expect([...best.get('meanShift')!].map(kindOf)).toEqual(['greedy_soup']);
    expect([...best.get('nll')!].map(kindOf)).toEqual(['ensemble']);
    expect([...best.get('ece')!].map(kindOf)).toEqual(['greedy_soup']);
  });
  it('exports fractions at full precision with one header per column', () => {
    const csv = compareCsv(view.sets, view.rows).split('\r\n');
    expect(csv[0]).toBe(
      'model,kind,members,top1_holdout,top1_test,top1_shift-a,mean_top1_shift,nll,ece,mcnemar_p_vs_best_single,params,forward_passes',
    );
    expect(csv[5]).toBe('Ensemble (all),ensemble,2,0.9,0.86,0.58,0.58,0.39,0.03,0.5,1000,2');
  });
});
