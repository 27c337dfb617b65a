/** The comparison table's model: rows, columns, winners and CSV, independent of the API's exact shape. */
import { toCsv } from './csv';
import { winners } from './table';

export interface CompareSet {
  name: string;
  role: string;
  n: number | null;
}

export interface CompareRow {
  id: string;
  label: string;
  /** ingredient, base, best-single, oracle, uniform, greedy, learned, ensemble, greedy-ensemble, ... */
  kind: string;
  /** ingredient rows are collapsible; the others are the comparison proper */
  isIngredient: boolean;
  /** a reference, not a model one could ship (the oracle): never the winner */
  isReference: boolean;
  /** models averaged or ensembled into it */
  members: number | null;
  top1: Record<string, number | null>;
  meanShift: number | null;
  nll: number | null;
  ece: number | null;
  /** exact McNemar p-value against the best single model (on the metrics set) */
  mcnemarP: number | null;
  params: number | null;
  /** forward passes per input: 1 for single models and soups, N for an ensemble of N */
  cost: number | null;
}

export type ColumnKey = `top1:${string}` | 'meanShift' | 'nll' | 'ece';

export function metricValue(row: CompareRow, key: ColumnKey): number | null {
  if (key.startsWith('top1:')) return row.top1[key.slice(5)] ?? null;
  return row[key as 'meanShift' | 'nll' | 'ece'];
}

export function metricColumns(sets: readonly CompareSet[], hasShift: boolean): ColumnKey[] {
  const keys: ColumnKey[] = sets.map((s) => `top1:${s.name}` as const);
  if (hasShift) keys.push('meanShift');
  keys.push('nll', 'ece');
  return keys;
}

/** Row ids that win each metric column: higher top-1, lower NLL and ECE; references excluded. */
export function columnWinners(
  rows: readonly CompareRow[],
  columns: readonly ColumnKey[],
): Map<ColumnKey, Set<string>> {
  const candidates = rows.filter((r) => !r.isReference);
  const out = new Map<ColumnKey, Set<string>>();
  for (const column of columns) {
    const better = column === 'nll' || column === 'ece' ? 'lower' : 'higher';
    const indices = winners(
      candidates.map((r) => metricValue(r, column)),
      better,
    );
    out.set(column, new Set(indices.map((i) => candidates[i]!.id)));
  }
  return out;
}

/** The table as CSV: fractions stay fractions (full precision), so the file feeds plots without parsing "%". */
export function compareCsv(sets: readonly CompareSet[], rows: readonly CompareRow[]): string {
  const header = [
    'model',
    'kind',
    'members',
    ...sets.map((s) => `top1_${s.name}`),
    'mean_top1_shift',
    'nll',
    'ece',
    'mcnemar_p_vs_best_single',
    'params',
    'forward_passes',
  ];
  const body = rows.map((r) => [
    r.label,
    r.kind,
    r.members,
    ...sets.map((s) => r.top1[s.name] ?? null),
    r.meanShift,
    r.nll,
    r.ece,
    r.mcnemarP,
    r.params,
    r.cost,
  ]);
  return toCsv(header, body);
}
