/** Layout and colour arithmetic for the advisor's barrier heatmap (pure, unit-tested). */

export interface BarrierRun {
  path: string;
  label: string;
  holdoutTop1: number;
  outlier: boolean;
}

export interface BarrierPair {
  a: string;
  b: string;
  barrier: number;
}

interface BarrierGrid {
  /** runs in display order: held-out top-1 descending, ties by label */
  runs: BarrierRun[];
  /** values[i][j]: barrier of the pair, null on the diagonal and for pairs that were not evaluated */
  values: Array<Array<number | null>>;
}

/** The barrier matrix ordered by held-out accuracy, so the best runs sit in the top-left corner. */
export function barrierGrid(runs: readonly BarrierRun[], pairs: readonly BarrierPair[]): BarrierGrid {
  const ordered = [...runs].sort(
    (x, y) => y.holdoutTop1 - x.holdoutTop1 || (x.label < y.label ? -1 : x.label > y.label ? 1 : 0),
  );
  const index = new Map(ordered.map((r, i) => [r.path, i]));
  const values = ordered.map(() => ordered.map((): number | null => null));
  for (const p of pairs) {
    const i = index.get(p.a);
    const j = index.get(p.b);
    if (i === undefined || j === undefined || i === j) continue;
    values[i]![j] = p.barrier;
    values[j]![i] = p.barrier;
  }
  return { runs: ordered, values };
}

/** The largest |barrier| off the diagonal: the colour scale is symmetric around 0. Null without values. */
export function symmetricExtent(values: ReadonlyArray<ReadonlyArray<number | null>>): number | null {
  let max = 0;
  let any = false;
  for (const row of values)
    for (const v of row)
      if (v !== null && Number.isFinite(v)) {
        any = true;
        max = Math.max(max, Math.abs(v));
      }
  return any ? max : null;
}

/**
 * Position on the diverging scale in [−1, 1]: negative where the midpoint beats its ends (one basin),
 * positive for a barrier; null for a missing value. A scale of 0 (every barrier 0) maps everything to 0.
 */
export function divergingPosition(value: number | null, extent: number | null): number | null {
  if (value === null || !Number.isFinite(value) || extent === null) return null;
  if (extent === 0) return 0;
  return Math.max(-1, Math.min(1, value / extent));
}

/**
 * The fill of a cell: Okabe–Ito blue for negative barriers, vermillion for positive ones, mixed into the
 * background in proportion to |position|, so 0 is the background and the legend reads both ways.
 */
export function divergingFill(position: number | null): string {
  if (position === null) return 'var(--bg-sunken)';
  const colour = position < 0 ? 'var(--chart-1)' : 'var(--chart-4)';
  return `color-mix(in srgb, ${colour} ${(Math.abs(position) * 100).toFixed(1)}%, var(--bg))`;
}
