/** Sorting, filtering and column helpers for the data tables (pure, so they are unit-tested). */

export type SortDirection = 'ascending' | 'descending';

export interface SortState {
  key: string;
  direction: SortDirection;
}

/**
 * Order of two cell values: numbers numerically, strings naturally ("run10" after "run9"), and missing
 * values (null, undefined, NaN, '') always last whatever the direction, so gaps never crowd the top.
 */
export function compareCells(a: unknown, b: unknown, direction: SortDirection = 'ascending'): number {
  const missingA = isMissing(a);
  const missingB = isMissing(b);
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  const sign = direction === 'ascending' ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return sign * (a - b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return sign * (Number(a) - Number(b));
  return sign * collator.compare(String(a), String(b));
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

/** A stable sort of rows by one column; `value` reads the column's cell from a row. */
export function sortRows<T>(
  rows: readonly T[],
  sort: SortState | null,
  value: (row: T, key: string) => unknown,
): T[] {
  const indexed = rows.map((row, index) => ({ row, index }));
  if (sort) {
    indexed.sort(
      (x, y) =>
        compareCells(value(x.row, sort.key), value(y.row, sort.key), sort.direction) || x.index - y.index,
    );
  }
  return indexed.map((x) => x.row);
}

/** Clicking a header: a new column sorts ascending (descending for scores), the same column flips. */
export function nextSort(
  current: SortState | null,
  key: string,
  firstDirection: SortDirection = 'ascending',
): SortState {
  if (current?.key === key) {
    return { key, direction: current.direction === 'ascending' ? 'descending' : 'ascending' };
  }
  return { key, direction: firstDirection };
}

/** The aria-sort value of a header cell. */
export function ariaSort(current: SortState | null, key: string): SortDirection | 'none' {
  return current?.key === key ? current.direction : 'none';
}

/**
 * Whether a row matches a filter text: every whitespace-separated term must occur (case-insensitive) in
 * one of the row's searchable strings; `lr=3e-5`-style terms match "lr" columns too.
 */
export function matchesFilter(haystack: readonly string[], filter: string): boolean {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return true;
  const text = haystack.join(' \u0000 ').toLowerCase();
  return terms.every((term) => text.includes(term));
}

/**
 * The union of the keys of several records, in a stable order: keys present in more records first, then
 * by first appearance. Hyperparameter columns use it so the common ones (lr, epochs) lead.
 */
export function unionKeys(records: ReadonlyArray<Record<string, unknown> | null | undefined>): string[] {
  const seen = new Map<string, { count: number; first: number }>();
  let order = 0;
  for (const record of records) {
    if (!record) continue;
    for (const key of Object.keys(record)) {
      const entry = seen.get(key);
      if (entry) entry.count++;
      else seen.set(key, { count: 1, first: order++ });
    }
  }
  return [...seen.entries()]
    .sort((a, b) => b[1].count - a[1].count || a[1].first - b[1].first)
    .map(([key]) => key);
}

/**
 * Keys whose value differs between records: the hyperparameters the sweep actually varied. Records with no
 * keys at all (a base model without a config) are ignored; a key missing from some records varies.
 */
export function varyingKeys(
  records: ReadonlyArray<Record<string, unknown> | null | undefined>,
  keys: readonly string[],
): string[] {
  const described = records.filter((r): r is Record<string, unknown> => !!r && Object.keys(r).length > 0);
  return keys.filter((key) => {
    const values = new Set(described.map((r) => JSON.stringify(r[key] ?? null)));
    return values.size > 1;
  });
}

/**
 * Indices of the best value in a column (max, or min when lower is better), ties included; empty when
 * fewer than two rows have a value or every value is equal, because then nothing won.
 */
export function winners(
  values: ReadonlyArray<number | null | undefined>,
  better: 'higher' | 'lower',
): number[] {
  const present = values
    .map((v, i) => ({ v, i }))
    .filter((x): x is { v: number; i: number } => typeof x.v === 'number' && Number.isFinite(x.v));
  if (present.length < 2) return [];
  const best =
    better === 'higher' ? Math.max(...present.map((x) => x.v)) : Math.min(...present.map((x) => x.v));
  if (present.every((x) => x.v === best)) return [];
  return present.filter((x) => x.v === best).map((x) => x.i);
}

/** A hyperparameter value for comparing columns: on/yes/true and off/no/false agree, numbers by value. */
function normalised(value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (['on', 'yes', 'true'].includes(lower)) return 'true';
    if (['off', 'no', 'false'].includes(lower)) return 'false';
    const n = Number(lower);
    return Number.isFinite(n) && lower !== '' ? String(n) : lower;
  }
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/**
 * Keys that repeat another key's values in every record (a folder name's `wd=0.1` and a config's
 * `weight_decay: 0.1`): the shorter name of each such pair is dropped, so the table shows one column.
 */
export function redundantKeys(
  records: ReadonlyArray<Record<string, unknown>>,
  keys: readonly string[],
): Set<string> {
  const drop = new Set<string>();
  const described = records.filter((r) => Object.keys(r).length > 0);
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      const a = keys[i]!;
      const b = keys[j]!;
      if (drop.has(a) || drop.has(b)) continue;
      const same = described.every((r) => normalised(r[a]) === normalised(r[b]));
      if (same) drop.add(a.length < b.length ? a : b);
    }
  }
  return drop;
}
