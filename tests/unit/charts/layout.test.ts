import { describe, expect, it } from 'vitest';
import { heatPosition, informativeColumns, offDiagonalExtent } from '../../../src-renderer/charts/heat.js';
import {
  bars,
  fitLabel,
  frame,
  matrixCells,
  smallMultiples,
  spreadLabels,
} from '../../../src-renderer/charts/layout.js';

describe('frame', () => {
  it('subtracts the margins', () => {
    const f = frame(600, 400, { top: 10, right: 20, bottom: 40, left: 50 });
    expect([f.x0, f.x1, f.y0, f.y1]).toEqual([50, 580, 10, 360]);
    expect(f.innerWidth).toBe(530);
    expect(f.innerHeight).toBe(350);
  });
  it('never goes negative', () => {
    expect(frame(10, 10).innerWidth).toBe(0);
  });
});

describe('small multiples', () => {
  it('fits as many columns as the minimum width allows, capped', () => {
    const g = smallMultiples(5, 760, { minCellWidth: 230, maxColumns: 3, gap: 14, aspect: 0.5 });
    expect(g.columns).toBe(3);
    expect(g.rows).toBe(2);
    const cellWidth = (760 - 2 * 14) / 3;
    expect(g.cells[4]).toMatchObject({ row: 1, column: 1 });
    expect(g.cells[4]!.x).toBeCloseTo(cellWidth + 14, 9);
    expect(g.cells[4]!.y).toBeCloseTo(cellWidth * 0.5 + 14, 9);
    expect(g.height).toBeCloseTo(2 * cellWidth * 0.5 + 14, 9);
    // the last column ends at the right edge
    expect(g.cells[2]!.x + g.cells[2]!.width).toBeCloseTo(760, 9);
  });
  it('never uses more columns than panels, and at least one', () => {
    expect(smallMultiples(2, 2000).columns).toBe(2);
    expect(smallMultiples(3, 100).columns).toBe(1);
    expect(smallMultiples(0, 500).cells).toEqual([]);
  });
});

describe('matrix cells and bars', () => {
  it('splits the square evenly', () => {
    expect(matrixCells(4, 200)).toEqual({ cell: 50, offsets: [0, 50, 100, 150] });
  });
  it('puts negative bars left of zero', () => {
    const b = bars([-1, 0.5, 1], 0, 200);
    expect(b.zero).toBeCloseTo(100, 9);
    expect(b.spans[0]).toEqual({ start: 0, length: 100 });
    expect(b.spans[1]!.start).toBeCloseTo(100, 9);
    expect(b.spans[1]!.length).toBeCloseTo(50, 9);
  });
  it('all-positive bars start at the left edge', () => {
    const b = bars([0.2, 0.8], 10, 110);
    expect(b.zero).toBe(10);
    expect(b.spans[1]!.length).toBeCloseTo(100, 9);
  });
});

describe('heatmap colour positions', () => {
  const m = [
    [1, 0.2, 0.6],
    [0.2, 1, 0.4],
    [0.6, 0.4, 1],
  ];
  it('ignores the diagonal', () => {
    expect(offDiagonalExtent(m)).toEqual([0.2, 0.6]);
  });
  it('places values linearly and clamps', () => {
    expect(heatPosition(0.4, [0.2, 0.6])).toBeCloseTo(0.5, 12);
    expect(heatPosition(1, [0.2, 0.6])).toBe(1);
    expect(heatPosition(0.3, [0.3, 0.3])).toBe(0.5);
    expect(heatPosition(0.3, null)).toBeNull();
  });
});

describe('label spreading', () => {
  it('leaves separate labels where they are', () => {
    expect(
      spreadLabels([
        { x: 0, y: 10, width: 50 },
        { x: 100, y: 12, width: 50 },
      ]),
    ).toEqual([10, 12]);
  });
  it('pushes overlapping labels apart by a line, keeping their order', () => {
    const ys = spreadLabels(
      [
        { x: 0, y: 20, width: 60 },
        { x: 10, y: 15, width: 60 },
        { x: 20, y: 18, width: 60 },
      ],
      12,
    );
    // placed by y: item 1 at 15, item 2 pushed to 27, item 0 pushed past both to 39
    expect(ys).toEqual([39, 15, 27]);
    const sorted = [...ys].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(12);
  });
});

describe('labels and columns', () => {
  it('cuts long labels with an ellipsis', () => {
    expect(fitLabel('run-01', 10)).toBe('run-01');
    expect(fitLabel('sweep/run-01_lr=6e-4_wd=0.05', 10)).toBe('sweep/run…');
    expect(fitLabel('sweep/run-01_lr=6e-4_wd=0.05', 10)).toHaveLength(10);
  });
  it('keeps varying, non-repeated hyperparameter columns', () => {
    const columns = [
      { name: 'lr', values: [1e-4, 3e-4, 1e-3] },
      { name: 'seed', values: [0, 0, 0] },
      { name: 'wd', values: [0.1, 0.05, 0.1] },
      { name: 'weight_decay', values: [0.1, 0.05, 0.1] },
      { name: 'aug', values: ['on', 'off', 'on'] },
    ];
    expect(informativeColumns(columns).map((c) => c.name)).toEqual(['lr', 'wd', 'aug']);
  });
});
