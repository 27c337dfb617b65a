import { DropPattern, disjointMean, trimThreshold } from '../merge-kernels.js';
import type { TensorMerger, TensorRef } from '../tensor-pass.js';
import type { MergeReport } from './method.js';
import { baseOf } from './method.js';

/** DARE's authors report that dropping degrades once task-vector entries exceed about this magnitude. */
export const DARE_LARGE_DELTA = 0.03;
/** Warn when more than this fraction of task-vector entries is large. */
const LARGE_FRACTION_WARNING = 0.01;

export interface SparseSettings {
  weights: readonly number[];
  lambda: number;
  /** DARE: drop probability p and seed; kept entries are rescaled by 1/(1 − p) */
  drop: { p: number; seed: number } | null;
  /** TIES: trim to this density, elect signs and take the disjoint mean; null: plain weighted sum */
  ties: { density: number } | null;
}

interface TensorStats {
  patterns: DropPattern[] | null;
  /** per ingredient: entries below this magnitude are trimmed (0: nothing trimmed) */
  thresholds: number[] | null;
}

/**
 * The task-vector methods with sparsification: TIES (trim, elect, disjoint mean), DARE (random drop and
 * rescale, then a sum or TIES). One code path, so DARE + TIES is exactly TIES on the dropped vectors.
 */
export function sparseTaskVectors(settings: SparseSettings): {
  merger: TensorMerger<TensorStats>;
  report(): MergeReport;
} {
  const { weights, lambda, drop, ties } = settings;
  const n = weights.length;
  const rescale = drop ? 1 / (1 - drop.p) : 1;
  let entries = 0;
  let keptByDrop = 0;
  let large = 0;
  let largest = 0;
  let largestTensor = '';

  /** δ after DARE's drop and rescale (entry `index` of ingredient i) */
  const dropped = (patterns: DropPattern[] | null, i: number, index: number, delta: number) =>
    patterns === null ? delta : patterns[i]!.kept(index) ? delta * rescale : 0;

  const merger: TensorMerger<TensorStats> = {
    async prepare(tensor: TensorRef) {
      const patterns = drop
        ? Array.from({ length: n }, (_, i) => new DropPattern(drop.seed, i, tensor.name, drop.p))
        : null;
      let thresholds: number[] | null = null;
      if (ties && ties.density < 1) {
        thresholds = [];
        for (let i = 0; i < n; i++) {
          const delta = await tensor.wholeTaskVector(i);
          for (let k = 0; k < delta.length; k++) delta[k] = dropped(patterns, i, k, delta[k]!);
          thresholds.push(trimThreshold(delta, ties.density));
        }
      }
      return { patterns, thresholds };
    },
    combine(view, stats, out, tensor) {
      const base = baseOf(view);
      const deltas = new Float64Array(n);
      for (let k = 0; k < view.count; k++) {
        const index = view.start + k;
        const b = base[k]!;
        for (let i = 0; i < n; i++) {
          const raw = view.models[i]![k]! - b;
          const magnitude = Math.abs(raw);
          if (magnitude > DARE_LARGE_DELTA) large++;
          if (magnitude > largest) {
            largest = magnitude;
            largestTensor = tensor;
          }
          let d = raw;
          if (stats.patterns) {
            if (stats.patterns[i]!.kept(index)) {
              keptByDrop++;
              d = raw * rescale;
            } else d = 0;
          }
          if (stats.thresholds && Math.abs(d) < stats.thresholds[i]!) d = 0;
          deltas[i] = d;
        }
        entries += n;
        if (ties) out[k] = b + lambda * disjointMean(deltas, weights);
        else {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += weights[i]! * deltas[i]!;
          out[k] = b + lambda * sum;
        }
      }
    },
  };

  const report = (): MergeReport => {
    const record: Record<string, unknown> = {};
    const warnings: string[] = [];
    if (drop) {
      record.kept_fraction = entries ? keptByDrop / entries : 1;
      record.large_delta_fraction = entries ? large / entries : 0;
      record.max_abs_delta = largest;
      if (entries && large / entries > LARGE_FRACTION_WARNING) {
        warnings.push(
          `${((100 * large) / entries).toFixed(1)} % of task-vector entries exceed |δ| ${DARE_LARGE_DELTA} (largest ${largest.toPrecision(3)} in "${largestTensor}"); DARE's authors report that dropping degrades such models, try a lower --drop or TIES`,
        );
      }
    }
    return { record, warnings };
  };
  return { merger, report };
}
