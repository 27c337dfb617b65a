import { TureenError } from '../../common/errors.js';
import type { Ingredient, WeightAccumulator } from '../checkpoints/index.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { EngineEvaluation } from '../inference/engine.js';
import type { Logits } from '../inference/metrics.js';
import { computeMetrics, restrictToSubset } from '../inference/metrics.js';
import { CmaEs } from './cmaes.js';
import type { RecipeRunner } from './runner.js';
import type { IdentifiedModel, SoupModels } from './soup-models.js';

export const LEARNED_DEFAULT_BUDGET = 48;
export const LEARNED_OPTIMISER =
  'cma-es over softmax logits of per-ingredient coefficients; logit scale by golden-section search per candidate';

export function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * The logit scale that minimises cross-entropy of fixed logits: golden-section search over log(scale) in
 * [log 0.05, log 20] (the loss is unimodal in the scale for logits that rank the label anywhere but last).
 */
export function bestLogitScale(logits: Logits, set: EvalSet): { scale: number; loss: number } {
  const loss = (logScale: number) =>
    // non-finite logits have no likelihood: the worst loss, so the search never prefers them
    computeMetrics(logits, set.labels, set.classSubset, Math.exp(logScale)).nll ?? Infinity;
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const g = (Math.sqrt(5) - 1) / 2;
  let a = hi - g * (hi - lo);
  let b = lo + g * (hi - lo);
  let fa = loss(a);
  let fb = loss(b);
  for (let i = 0; i < 40 && hi - lo > 1e-4; i++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = loss(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = loss(b);
    }
  }
  const at = (lo + hi) / 2;
  const unit = loss(0);
  const found = loss(at);
  return found <= unit ? { scale: Math.exp(at), loss: found } : { scale: 1, loss: unit };
}

/**
 * The label-free objective (AdaMerging, Yang et al. 2024): the mean Shannon entropy (nats) of the
 * softmax over the set's classes, per example. A row with a non-finite logit has no distribution: the
 * worst loss, so the search never prefers it.
 */
export function meanEntropy(raw: Logits, classSubset: readonly number[] | null): number {
  const { n, classes, data } = restrictToSubset(raw, classSubset);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, data[row + j]!);
    if (!Number.isFinite(max)) return Infinity;
    let sum = 0;
    let weighted = 0;
    for (let j = 0; j < classes; j++) {
      const z = data[row + j]! - max;
      if (!Number.isFinite(z)) return Infinity;
      const e = Math.exp(z);
      sum += e;
      weighted += e * z;
    }
    // H = log Σ e^z − Σ e^z·z / Σ e^z  (z shifted by the row's max)
    total += Math.log(sum) - weighted / sum;
  }
  return n ? total / n : 0;
}

/** Every ingredient's weights in memory (float32), so a candidate costs no file reads. */
export async function loadParts(
  models: SoupModels,
  ingredients: readonly Ingredient[],
  signal?: AbortSignal,
): Promise<WeightAccumulator[]> {
  const parts: WeightAccumulator[] = [];
  for (const ingredient of ingredients) {
    if (signal?.aborted) throw new TureenError('cancelled', 'learned soup cancelled');
    const acc = models.accumulator();
    await acc.addScaled(ingredient, 1, signal ? { signal } : {});
    parts.push(acc);
  }
  return parts;
}

/**
 * Σ αᵢ·θᵢ from in-memory parts. Writing a learned soup later must use this same arithmetic (not a streamed
 * addScaled, whose SIMD kernel rounds differently) to reproduce the evaluated weights bit for bit.
 */
export function mixParts(
  models: SoupModels,
  parts: readonly WeightAccumulator[],
  alpha: readonly number[],
): WeightAccumulator {
  const mix = models.accumulator();
  parts.forEach((part, i) => mix.addAccumulator(part, alpha[i]!));
  return mix;
}

export interface LearnedSoup {
  coefficients: number[];
  logitScale: number;
  lossCurve: Array<{ evaluation: number; loss: number }>;
  evaluations: number;
  sum: WeightAccumulator;
  model: IdentifiedModel;
  holdout: EngineEvaluation;
}

/**
 * Learned soup: mixing coefficients softmax(z) (one per ingredient) and a logit scale minimising held-out
 * cross-entropy. ONNX Runtime has no autograd, so z is searched by CMA-ES (seeded, within a budget of
 * held-out evaluations, starting from the uniform soup) and the scale by a line search on each candidate's
 * logits (no inference). All ingredients are held in memory as float32 while the search runs.
 */
export async function learnedSoup(
  runner: RecipeRunner,
  models: SoupModels,
  ingredients: readonly Ingredient[],
  holdout: EvalSet,
  options: {
    budget: number;
    seed: number;
    /** held-out cross-entropy (with the best logit scale), or the label-free mean prediction entropy
     *  (logit scale 1: a free scale would drive entropy to 0 without changing a prediction) */
    objective?: 'cross-entropy' | 'entropy';
  },
): Promise<LearnedSoup> {
  const parts = await loadParts(models, ingredients, runner.signal);
  runner.plan(holdout.n * options.budget);
  let best: {
    loss: number;
    z: number[];
    scale: number;
    sum: WeightAccumulator;
    model: IdentifiedModel;
    holdout: EngineEvaluation;
  } | null = null;
  const lossCurve: Array<{ evaluation: number; loss: number }> = [];
  let spent = 0;
  const evaluate = async (z: number[]): Promise<number> => {
    runner.throwIfCancelled();
    const alpha = softmax(z);
    const mix = mixParts(models, parts, alpha);
    const { model } = await models.soupModelShared(mix, 1, `learned soup candidate ${spent + 1}`);
    const result = await runner.evaluate(
      model,
      holdout,
      `learned soup: evaluation ${spent + 1}/${options.budget}`,
    );
    spent++;
    const { scale, loss } =
      options.objective === 'entropy'
        ? { scale: 1, loss: meanEntropy(result.outcome.logits, holdout.classSubset) }
        : bestLogitScale(result.outcome.logits, holdout);
    if (!best || loss < best.loss) best = { loss, z, scale, sum: mix, model, holdout: result };
    else runner.release(model);
    lossCurve.push({ evaluation: spent, loss: best.loss });
    return loss;
  };
  const start = new Array<number>(ingredients.length).fill(0);
  await evaluate(start);
  if (ingredients.length > 1) {
    const es = new CmaEs(start, 1, options.seed);
    while (spent < options.budget) {
      const points = es.ask().slice(0, options.budget - spent);
      const losses: number[] = [];
      for (const point of points) losses.push(await evaluate(point));
      if (points.length < 2) break;
      es.tell(points, losses);
    }
  }
  const found = best!;
  return {
    coefficients: softmax(found.z),
    logitScale: found.scale,
    lossCurve,
    evaluations: spent,
    sum: found.sum,
    model: found.model,
    holdout: found.holdout,
  };
}
