/** The comparison table's model: rows, columns, winners and CSV, independent of the API's exact shape. */
import { toCsv } from './csv.js';
import { shortRunNames } from './paths.js';
import { winners } from './table.js';

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
  /** e.g. which checkpoint the best single model is */
  detail: string | null;
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

const KIND_LABELS: Record<string, string> = {
  base: 'Base (pretrained)',
  best_single: 'Best single (held-out)',
  oracle: 'Oracle (best per set)',
  uniform_soup: 'Uniform soup',
  greedy_soup: 'Greedy soup',
  learned_soup: 'Learned soup',
  ensemble: 'Ensemble (all)',
  greedy_ensemble: 'Greedy ensemble',
};

/** Display order of the comparison rows after the ingredients. */
const KIND_ORDER = [
  'base',
  'best_single',
  'oracle',
  'uniform_soup',
  'greedy_soup',
  'learned_soup',
  'merge',
  'ensemble',
  'greedy_ensemble',
];

/** The set NLL, ECE and McNemar are read on: the first in-distribution test set, else the first set. */
function metricsSetName(sets: readonly CompareSet[]): string | null {
  return (sets.find((s) => s.role === 'id') ?? sets[0])?.name ?? null;
}

export interface ApiCompareShape {
  evalsets: Array<{ name: string; role: string; n: number }>;
  rows: Array<{
    kind: string;
    label: string;
    ingredients: string[];
    metrics: Record<string, { top1: number; nll: number | null; ece: number | null } | null>;
    meanShift: number | null;
    params: number;
    relativeCost: number;
    mcnemarP: Record<string, number | null>;
  }>;
}

/** The API's comparison table as the view's rows (ingredients first, then the comparison in a fixed order). */
export function compareRows(
  table: ApiCompareShape,
  nameOf: (label: string) => string = (l) => l,
): {
  sets: CompareSet[];
  rows: CompareRow[];
  metricsSet: string | null;
} {
  const roleOrder: Record<string, number> = { holdout: 0, id: 1, shift: 2 };
  const sets = [...table.evalsets]
    .sort((a, b) => (roleOrder[a.role] ?? 3) - (roleOrder[b.role] ?? 3))
    .map((s) => ({ name: s.name, role: s.role, n: s.n }));
  const on = metricsSetName(sets);
  const short = shortRunNames(table.rows.filter((r) => r.kind === 'ingredient').map((r) => nameOf(r.label)));
  const display = (label: string) => short.get(nameOf(label)) ?? nameOf(label);
  const rows = table.rows.map((r, index): CompareRow => {
    const isIngredient = r.kind === 'ingredient';
    const m = on ? r.metrics[on] : null;
    return {
      id: `${r.kind}:${index}`,
      // a merge row names its method and params (several merge rows share the kind)
      label: isIngredient
        ? display(r.label)
        : r.kind === 'merge'
          ? r.label
          : (KIND_LABELS[r.kind] ?? r.label),
      kind: r.kind,
      isIngredient,
      isReference: r.kind === 'oracle',
      members: isIngredient ? 1 : r.ingredients.length,
      detail: r.kind === 'best_single' && r.ingredients[0] ? display(r.ingredients[0]) : null,
      top1: Object.fromEntries(sets.map((s) => [s.name, r.metrics[s.name]?.top1 ?? null])),
      meanShift: r.meanShift,
      nll: m?.nll ?? null,
      ece: m?.ece ?? null,
      mcnemarP: on ? (r.mcnemarP[on] ?? null) : null,
      params: r.params,
      cost: r.relativeCost,
    };
  });
  const rank = (row: CompareRow) => (row.isIngredient ? -1 : KIND_ORDER.indexOf(row.kind));
  return {
    sets,
    rows: rows
      .map((row, i) => ({ row, i }))
      .sort((a, b) => rank(a.row) - rank(b.row) || a.i - b.i)
      .map((x) => x.row),
    metricsSet: on,
  };
}
