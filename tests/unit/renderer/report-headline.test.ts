import { describe, expect, it } from 'vitest';
import type { ApiCompareTable } from '../../../src-renderer/lib/domain.js';
import { reportHeadline } from '../../../src-renderer/lib/report-headline.js';

type Row = ApiCompareTable['rows'][number];

/** A comparison row with what the headline reads (kind, members, top-1 on "test", mean shift, cost). */
function row(kind: string, members: number, top1: number, meanShift: number | null, relativeCost = 1): Row {
  return {
    kind,
    label: kind,
    ingredients: Array.from({ length: members }, (_, i) => `run-${i}`),
    metrics: { test: { n: 1000, correct: Math.round(top1 * 1000), top1 } },
    meanShift,
    relativeCost,
  } as unknown as Row;
}

const table = (rows: Row[]) => ({ rows }) as unknown as ApiCompareTable;
const idSet = { name: 'test', n: 1000 };

describe('report headline', () => {
  it('says the greedy soup against the best single model, over the shifts, then uniform and ensemble', () => {
    const rows = [
      row('best_single', 1, 0.795, 0.5825),
      row('greedy_soup', 3, 0.812, 0.61),
      row('uniform_soup', 5, 0.78, 0.6),
      row('ensemble', 5, 0.801, 0.6, 5),
    ];
    expect(reportHeadline(table(rows), idSet, 2)).toBe(
      'On test (N = 1,000), the greedy soup of 3 ingredients reaches 81.20 % top-1 against 79.50 % for the ' +
        'best single model (chosen on the held-out set), and 61.00 % against 58.25 % mean top-1 over 2 ' +
        'distribution shifts, at the cost of one model. The uniform soup of all 5 reaches 78.00 %. The ' +
        'ensemble of all 5 models reaches 80.10 % at 5× the inference cost.',
    );
  });

  it('says so when the greedy soup kept only the best model (one shift, no uniform or ensemble row)', () => {
    const rows = [row('best_single', 1, 0.795, 0.5), row('greedy_soup', 1, 0.795, 0.5)];
    expect(reportHeadline(table(rows), idSet, 1)).toBe(
      'The greedy soup kept only the best single model: adding any other ingredient lowered held-out ' +
        'accuracy (see the step chart). On test (N = 1,000) it reaches 79.50 % top-1 and 50.00 % mean top-1 ' +
        'over 1 distribution shift, at the cost of one model.',
    );
  });

  it('is null without a greedy soup or a best single model', () => {
    expect(reportHeadline(table([row('best_single', 1, 0.8, null)]), idSet, 0)).toBeNull();
    expect(reportHeadline(table([row('greedy_soup', 2, 0.8, null)]), idSet, 0)).toBeNull();
  });
});
