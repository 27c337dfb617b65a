import type { Ingredient } from '../checkpoints/index.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { RecipeRunner } from '../recipes/runner.js';
import type { SoupModels } from '../recipes/soup-models.js';

export interface PathPoint {
  alpha: number;
  correct: number;
  top1: number;
}

export interface PairBarrier {
  a: number;
  b: number;
  points: PathPoint[];
  midpoint: PathPoint;
  barrier: number;
}

/** The α grid of a path: the user's points with ½ always among them (the midpoint is what is reported). */
export function pathGrid(points: readonly number[] | undefined): number[] {
  return [...new Set([...(points ?? []), 0.5])].sort((x, y) => x - y);
}

/**
 * Barrier of one path: the largest drop of the path's top-1 below the straight line between its ends,
 * max over α of (1 − α)·top1_a + α·top1_b − top1(α). With the grid {½} it is the mean of the ends minus
 * the midpoint; positive means the straight path between the two runs is worse than its ends.
 */
export function barrierOf(endA: number, endB: number, points: readonly PathPoint[]): number {
  return Math.max(...points.map((p) => (1 - p.alpha) * endA + p.alpha * endB - p.top1));
}

/** All pairs i < j among the chosen indices, in the order given. */
export function pairsAmong(indices: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let x = 0; x < indices.length; x++)
    for (let y = x + 1; y < indices.length; y++) out.push([indices[x]!, indices[y]!]);
  return out;
}

/**
 * Held-out top-1 along the straight path between each pair, evaluated in memory: (1 − α)·θ_a + α·θ_b is
 * summed in float32 exactly as `cook interpolate` does (so the weights, their hash and the cached logits
 * are the same), then released from the inference host.
 */
export async function measureBarriers(
  runner: RecipeRunner,
  models: SoupModels,
  members: readonly Ingredient[],
  endsTop1: readonly number[],
  labels: readonly string[],
  pairs: ReadonlyArray<[number, number]>,
  grid: readonly number[],
  holdout: EvalSet,
): Promise<PairBarrier[]> {
  const signal = runner.signal ? { signal: runner.signal } : {};
  const out: PairBarrier[] = [];
  for (const [index, [a, b]] of pairs.entries()) {
    const points: PathPoint[] = [];
    for (const alpha of grid) {
      runner.throwIfCancelled();
      const sum = models.accumulator();
      await sum.addScaled(members[a]!, 1 - alpha, signal);
      await sum.addScaled(members[b]!, alpha, signal);
      const { model } = models.soupModel(sum, 1, `${labels[a]} ↔ ${labels[b]} at α = ${alpha}`);
      const result = await runner.evaluate(
        model,
        holdout,
        `pair ${index + 1}/${pairs.length}: ${labels[a]} ↔ ${labels[b]}${grid.length > 1 ? ` (α = ${alpha})` : ''}`,
      );
      runner.release(model);
      const correct = result.outcome.metrics.correct;
      points.push({ alpha, correct, top1: correct / holdout.n });
    }
    out.push({
      a,
      b,
      points,
      midpoint: points.find((p) => p.alpha === 0.5)!,
      barrier: barrierOf(endsTop1[a]!, endsTop1[b]!, points),
    });
  }
  return out;
}
