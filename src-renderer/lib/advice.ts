/** The advisor's document as the views use it, and the small conversions they need (pure, unit-tested). */
import type { z } from 'zod';
import type { Advice as AdviceSchema } from '../../src-main/common/api/advisor.js';
import type { BarrierPair, BarrierRun } from '../charts/barriers.js';

export type Advice = z.output<typeof AdviceSchema>;

export function barrierRuns(advice: Advice): BarrierRun[] {
  return advice.ingredients.map((i) => ({
    path: i.path,
    label: i.label,
    holdoutTop1: i.holdout_top1,
    outlier: i.outlier,
  }));
}

export function barrierPairs(advice: Advice): BarrierPair[] {
  return advice.pairs.map((p) => ({ a: p.a, b: p.b, barrier: p.barrier }));
}

/** The ingredients a "cook without the outliers" starts with: every run the advisor did not flag. */
export function keptIngredients(advice: Advice): string[] {
  return advice.ingredients.filter((i) => !i.outlier).map((i) => i.path);
}

/** Lineage groups with the runs' short names, group 0 first. */
export function lineageLabels(advice: Advice): string[][] {
  const label = new Map(advice.ingredients.map((i) => [i.path, i.label]));
  return advice.lineage.groups.map((g) => g.map((p) => label.get(p) ?? p));
}

/** `85.00 %` for a fraction, `—` for null. */
export function percent(value: number | null): string {
  return value === null ? '—' : `${(100 * value).toFixed(2)} %`;
}

/**
 * The stored advice that explains a comparison's greedy soup: the advisor's run on the same held-out set
 * whose runs include every ingredient the comparison evaluated (else its greedy steps are another soup's).
 * Null when there is none, with the reason to show instead.
 */
export function adviceForComparison(
  advice: Advice | null,
  table: {
    evalsets: ReadonlyArray<{ role: string; path: string }>;
    rows: ReadonlyArray<{ kind: string; ingredients: string[] }>;
  },
  relative: (path: string) => string,
): { advice: Advice | null; reason: string | null } {
  if (!advice?.greedy)
    return { advice: null, reason: 'no advisor run with a greedy soup for this kitchen yet' };
  const holdout = table.evalsets.find((s) => s.role === 'holdout');
  if (!holdout || holdout.path !== advice.holdout.path)
    return {
      advice: null,
      reason: "the latest advisor run used another held-out set than this comparison's",
    };
  const advised = new Set(advice.ingredients.map((i) => relative(i.path)));
  const compared = table.rows.filter((r) => r.kind === 'ingredient').flatMap((r) => r.ingredients);
  if (compared.length !== advised.size || compared.some((p) => !advised.has(p)))
    return { advice: null, reason: "the latest advisor run looked at other runs than this comparison's" };
  return { advice, reason: null };
}
