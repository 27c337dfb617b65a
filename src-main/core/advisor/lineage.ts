import type { LayoutEntry } from '../checkpoints/index.js';

/**
 * Two checkpoints share a starting point when the correlation of their per-tensor-centred weights is at
 * least this. Independent initialisations of one architecture correlate at ≈ 0 (±1/√parameters); runs
 * fine-tuned from one checkpoint stay near 1, and even the demo's too-high learning rate (2e-2, 1.3× the
 * base's norm away from it) keeps 0.49 with its base.
 */
export const LINEAGE_THRESHOLD = 0.2;

export interface Lineage {
  /** member indices per group; group 0 holds the base's descendants (without a base: the largest group) */
  groups: number[][];
  /** group index of every member */
  groupOf: number[];
}

/**
 * Lineage groups from the centred weight correlations of `[base?, ...members]` (the base, when given, is
 * row 0): single-linkage components of the graph whose edges are correlations ≥ the threshold. A run
 * linked to another run of its own start, but not to the base, forms a group with it.
 */
export function lineageGroups(correlation: readonly number[][], hasBase: boolean): Lineage {
  const nodes = correlation.length;
  const parent = Array.from({ length: nodes }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < nodes; i++)
    for (let j = i + 1; j < nodes; j++)
      if (correlation[i]![j]! >= LINEAGE_THRESHOLD) parent[find(i)] = find(j);
  const offset = hasBase ? 1 : 0;
  const members = nodes - offset;
  const byRoot = new Map<number, number[]>();
  for (let m = 0; m < members; m++) {
    const root = find(m + offset);
    byRoot.set(root, [...(byRoot.get(root) ?? []), m]);
  }
  let components = [...byRoot.entries()];
  // Group 0: the base's component, else the largest (ties: the one whose first member comes first).
  const mainRoot = hasBase
    ? find(0)
    : components.reduce((best, c) => (c[1].length > best[1].length ? c : best), components[0]!)[0];
  components = [
    ...components.filter(([root]) => root === mainRoot),
    ...components.filter(([root]) => root !== mainRoot),
  ];
  const groups = components.map(([, list]) => list);
  if (hasBase && !byRoot.has(mainRoot)) groups.unshift([]);
  const groupOf = new Array<number>(members).fill(0);
  groups.forEach((g, gi) => g.forEach((m) => (groupOf[m] = gi)));
  return { groups, groupOf };
}

/** The classifier head: the last float tensor, with the weight before it when the last is its bias. */
export function headTensors(entries: readonly LayoutEntry[]): LayoutEntry[] {
  const last = entries[entries.length - 1];
  if (!last) return [];
  const before = entries[entries.length - 2];
  const isBiasOf =
    last.shape.length === 1 && before && before.shape.length >= 2 && before.shape.includes(last.shape[0]!);
  return isBiasOf ? [before, last] : [last];
}
