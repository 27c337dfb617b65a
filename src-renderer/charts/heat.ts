/** Colour positions for the similarity heatmap (pure, unit-tested). */

/** Min and max over the off-diagonal entries (the diagonal is trivially 1 or 0°), or null. */
export function offDiagonalExtent(values: readonly (readonly number[])[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  values.forEach((row, i) =>
    row.forEach((v, j) => {
      if (i === j || !Number.isFinite(v)) return;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }),
  );
  return lo <= hi ? [lo, hi] : null;
}

/** Where a value sits between the extent's ends, in [0, 1]; 0.5 when the extent is one value. */
export function heatPosition(value: number, extent: [number, number] | null): number | null {
  if (!extent || !Number.isFinite(value)) return null;
  const [lo, hi] = extent;
  if (hi === lo) return 0.5;
  return Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
}

/**
 * The hyperparameter columns worth showing: those that vary across the rows, without a column that
 * repeats an earlier one value for value (a sweep often records `wd` in folder names and `weight_decay` in
 * hparams.json).
 */
export function informativeColumns<T extends { name: string; values: ReadonlyArray<unknown> }>(
  columns: readonly T[],
): T[] {
  const seen = new Set<string>();
  return columns.filter((column) => {
    const key = JSON.stringify(
      column.values.map((v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)),
    );
    const distinct = new Set(column.values.map((v) => JSON.stringify(v)));
    if (distinct.size < 2 || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
