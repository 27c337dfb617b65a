import type { z } from 'zod';
import type { GreedyStep } from '../../common/api/recipes.js';
import type { Ingredient, WeightAccumulator } from '../checkpoints/index.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { EngineEvaluation } from '../inference/engine.js';
import { byPath } from '../checkpoints/open-family.js';
import type { RecipeRunner } from './runner.js';
import type { IdentifiedModel, SoupModels } from './soup-models.js';

export type Step = z.output<typeof GreedyStep>;

export interface Ranked<T> {
  item: T;
  /** path relative to the folder given (the tie-breaker) */
  rel: string;
  /** held-out correct count (an integer: decisions never compare rounded fractions) */
  correct: number;
}

/** The paper's order: held-out correct count descending, ties by relative path ascending. */
export function greedyOrder<T>(list: ReadonlyArray<Ranked<T>>): Array<Ranked<T>> {
  return [...list].sort((a, b) => b.correct - a.correct || byPath(a.rel, b.rel));
}

/** Recipe 1: keep a candidate when the held-out count does not drop (`>=`); `strict` is the authors' code (`>`). */
export function accepts(candidate: number, best: number, strict: boolean): boolean {
  return strict ? candidate > best : candidate >= best;
}

export interface GreedySoup {
  accepted: Array<Ranked<Ingredient>>;
  steps: Step[];
  /** S: the float32 sum of the accepted ingredients, in acceptance order */
  sum: WeightAccumulator;
  model: IdentifiedModel;
  holdout: EngineEvaluation | null;
}

/** Greedy with replacement: passes over the held-out order after the paper's first one (Wortsman et al.
 *  offer no replacement; this is the ensemble-selection variant of Caruana et al. 2004 for weights). */
export interface GreedyOptions {
  /** every ingredient (accepted ones too) is offered again in later passes; weights become counts */
  withReplacement?: boolean;
  /** passes over the order in all, the paper's included (a pass that adds nothing ends the soup) */
  passes?: number;
}

/**
 * Greedy soup. S starts as the best ingredient; each candidate is (S + θ)/(k + 1) computed into a separate
 * buffer and evaluated on the held-out set; on acceptance that buffer's sum becomes S (the same floats as
 * S += θ), on rejection S is untouched. One averaging pass and one held-out evaluation per step. With
 * replacement, later passes offer every ingredient again in the same order; `accepted` then repeats an
 * ingredient once per time it was added.
 */
export async function greedySoup(
  runner: RecipeRunner,
  models: SoupModels,
  ranked: ReadonlyArray<Ranked<Ingredient>>,
  holdout: EvalSet,
  strict: boolean,
  options: GreedyOptions = {},
): Promise<GreedySoup> {
  const order = greedyOrder(ranked);
  const first = order[0]!;
  let sum = models.accumulator();
  await sum.addScaled(first.item, 1, runner.signal ? { signal: runner.signal } : {});
  const accepted = [first];
  let best = first.correct;
  const steps: Step[] = [
    {
      step: 0,
      candidate: first.rel,
      holdout_correct: first.correct,
      holdout_top1: first.correct / holdout.n,
      accepted: true,
      size: 1,
    },
  ];
  runner.greedyStep(steps[0]!);
  let current = (await models.soupModelShared(sum, 1, `greedy soup (1)`)).model;
  let currentHoldout: EngineEvaluation | null = null;
  const passes = options.withReplacement ? Math.max(1, options.passes ?? 1) : 1;
  runner.plan(holdout.n * (order.length - 1));
  let index = 0;
  for (let pass = 0; pass < passes; pass++) {
    const candidates = pass === 0 ? order.slice(1) : order;
    if (pass > 0) runner.plan(holdout.n * candidates.length);
    let added = 0;
    for (const candidate of candidates) {
      runner.throwIfCancelled();
      index++;
      const trial = await sum.cloneShared();
      await trial.addScaled(candidate.item, 1, runner.signal ? { signal: runner.signal } : {});
      const size = accepted.length + 1;
      const { model } = await models.soupModelShared(trial, 1 / size, `greedy soup step ${index}`);
      const result = await runner.evaluate(
        model,
        holdout,
        passes > 1
          ? `greedy pass ${pass + 1}/${passes}, step ${index}: + ${candidate.rel}`
          : `greedy step ${index}/${order.length - 1}: + ${candidate.rel}`,
      );
      const correct = result.outcome.metrics.correct;
      const ok = accepts(correct, best, strict);
      if (ok) {
        sum = trial;
        accepted.push(candidate);
        best = correct;
        current = model;
        currentHoldout = result;
        added++;
      } else {
        runner.release(model);
      }
      const step: Step = {
        step: index,
        candidate: candidate.rel,
        holdout_correct: correct,
        holdout_top1: correct / holdout.n,
        accepted: ok,
        size: accepted.length,
      };
      steps.push(step);
      runner.greedyStep(step);
    }
    if (pass > 0 && added === 0) break;
  }
  return { accepted, steps, sum, model: current, holdout: currentHoldout };
}
