import { TureenError } from '../../../common/errors.js';
import type { EvalSet } from '../../datasets/evalset.js';
import type { RecipeRunner } from '../runner.js';
import type { SoupModels } from '../soup-models.js';
import type { SoupEnv } from './method.js';

/** The evaluation tools and held-out set of a method that needs them (the cook plans them by `needs`). */
export function heldOut(
  env: SoupEnv,
  method: string,
): { runner: RecipeRunner; models: SoupModels; holdout: EvalSet } {
  const evaluation = env.evaluation;
  if (!evaluation?.holdout) {
    throw new TureenError(
      'bad_evalset',
      `${method} chooses on a held-out set: give --holdout (or a folder with an eval set of role holdout)`,
      { field: 'holdout' },
    );
  }
  return { runner: evaluation.runner, models: evaluation.models, holdout: evaluation.holdout };
}
