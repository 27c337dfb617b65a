import type { Logits } from '../inference/metrics.js';
import { computeMetrics } from '../inference/metrics.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { Ranked } from './greedy.js';
import { accepts, greedyOrder } from './greedy.js';

function sumInto(target: Float64Array, logits: Logits): void {
  for (let i = 0; i < target.length; i++) target[i]! += logits.data[i]!;
}

function meanOf(sum: Float64Array, count: number, like: Logits): Logits {
  const data = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) data[i] = sum[i]! / count;
  return { n: like.n, classes: like.classes, data };
}

/**
 * The greedy rule applied to output ensembles: members ranked like greedy-soup ingredients, a candidate
 * kept when the held-out correct count of the averaged logits does not drop. Costs no inference: it works
 * on cached held-out logits.
 */
export function greedyEnsemble<T>(
  ranked: ReadonlyArray<Ranked<T> & { holdoutLogits: Logits }>,
  holdout: EvalSet,
  strict: boolean,
): {
  members: Array<Ranked<T>>;
  steps: Array<{ candidate: string; holdout_correct: number; accepted: boolean }>;
} {
  const order = greedyOrder(ranked) as Array<Ranked<T> & { holdoutLogits: Logits }>;
  const first = order[0]!;
  const sum = new Float64Array(first.holdoutLogits.data.length);
  sumInto(sum, first.holdoutLogits);
  const members: Array<Ranked<T>> = [first];
  let best = first.correct;
  const steps = [{ candidate: first.rel, holdout_correct: first.correct, accepted: true }];
  for (const candidate of order.slice(1)) {
    const trial = Float64Array.from(sum);
    sumInto(trial, candidate.holdoutLogits);
    const correct = computeMetrics(
      meanOf(trial, members.length + 1, first.holdoutLogits),
      holdout.labels,
      holdout.classSubset,
    ).correct;
    const ok = accepts(correct, best, strict);
    if (ok) {
      sum.set(trial);
      members.push(candidate);
      best = correct;
    }
    steps.push({ candidate: candidate.rel, holdout_correct: correct, accepted: ok });
  }
  return { members, steps };
}
