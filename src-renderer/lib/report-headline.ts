import type { ApiCompareTable } from './domain.js';
import { count, percent } from './format.js';

/**
 * The one sentence a report reader wants first: the greedy soup against the best single model on the
 * in-distribution set (and over the shifts), the uniform soup, and the ensemble with its price. Null when
 * the comparison lacks the rows it speaks of.
 */
export function reportHeadline(
  table: ApiCompareTable,
  idSet: { name: string; n: number | null },
  shifts: number,
): string | null {
  const row = (kind: string) => table.rows.find((r) => r.kind === kind) ?? null;
  const best = row('best_single');
  const soup = row('greedy_soup');
  const ensemble = row('ensemble');
  if (!best || !soup) return null;
  const id = (r: typeof best) => percent(r.metrics[idSet.name]?.top1);
  const k = soup.ingredients.length;
  let text =
    k === 1
      ? `The greedy soup kept only the best single model: adding any other ingredient lowered held-out ` +
        `accuracy (see the step chart). On ${idSet.name} (N = ${count(idSet.n)}) it reaches ${id(soup)} % top-1`
      : `On ${idSet.name} (N = ${count(idSet.n)}), the greedy soup of ${k} ingredients reaches ` +
        `${id(soup)} % top-1 against ${id(best)} % for the best single model (chosen on the held-out set)`;
  if (shifts) {
    const over = `mean top-1 over ${shifts} distribution shift${shifts === 1 ? '' : 's'}`;
    text +=
      k === 1
        ? ` and ${percent(soup.meanShift)} % ${over}`
        : `, and ${percent(soup.meanShift)} % against ${percent(best.meanShift)} % ${over}`;
  }
  text += ', at the cost of one model.';
  const uniform = row('uniform_soup');
  if (uniform) text += ` The uniform soup of all ${uniform.ingredients.length} reaches ${id(uniform)} %.`;
  if (ensemble) {
    text += ` The ensemble of all ${ensemble.ingredients.length} models reaches ${id(ensemble)} % at ${ensemble.relativeCost}× the inference cost.`;
  }
  return text;
}
