import { z } from 'zod';
import type { Ingredient } from '../../checkpoints/index.js';
import type { OpenedFamily } from '../../checkpoints/open-family.js';
import type { EvalSet } from '../../datasets/evalset.js';
import type { Ranked } from '../greedy.js';
import { greedySoup } from '../greedy.js';
import type { RecipeRunner } from '../runner.js';
import type { SoupModels } from '../soup-models.js';
import type { SoupMethod } from './method.js';
import { heldOut } from './soup-env.js';

/** Held-out correct counts of every ingredient (cached after the first run), ranked for greedy selection. */
export async function rankOnHoldout(
  runner: RecipeRunner,
  models: SoupModels,
  sweep: OpenedFamily,
  holdout: EvalSet,
): Promise<Array<Ranked<Ingredient>>> {
  runner.plan(holdout.n * sweep.members.length);
  const ranked: Array<Ranked<Ingredient>> = [];
  for (const ingredient of sweep.members) {
    const model = await models.ingredientModel(ingredient, runner.signal);
    const rel = sweep.relative(ingredient.path);
    const result = await runner.evaluate(model, holdout, `held-out: ${rel}`);
    ranked.push({ item: ingredient, rel, correct: result.outcome.metrics.correct });
  }
  return ranked;
}

const Params = z.object({
  strict: z
    .boolean()
    .default(false)
    .describe("accept only strictly better candidates (the authors' code) instead of not worse (the paper)"),
  'with-replacement': z
    .boolean()
    .default(false)
    .describe(
      "after the paper's pass, offer every ingredient again (accepted ones too) in further passes; an ingredient's weight is the times it was added",
    ),
  passes: z
    .number()
    .int()
    .min(2)
    .max(10)
    .default(3)
    .describe('with --with-replacement: passes over the order in all (a pass that adds nothing ends it)'),
});

/** The paper's order, recorded in every greedy recipe. */
export const GREEDY_ORDER = 'held-out correct count descending, ties by relative path ascending';

/** Wortsman et al. 2022, Recipe 1: add ingredients in held-out order while held-out accuracy does not drop. */
export const greedy: SoupMethod<typeof Params> = {
  kind: 'soup',
  name: 'greedy',
  title: 'Greedy soup',
  summary: "the paper's greedy soup: add ingredients in held-out order while held-out accuracy does not drop",
  reference: 'Wortsman et al., Model soups, ICML 2022 (arXiv 2203.05482), Recipe 1',
  params: Params,
  needs: { base: 'none', models: { min: 1 }, holdout: true, unlabelled: false },
  searchable: [],
  async cook(params, env) {
    const { runner, models, holdout } = heldOut(env, 'greedy');
    const ranked = await rankOnHoldout(runner, models, env.sweep, holdout);
    const replacement = params['with-replacement'];
    const soup = await greedySoup(runner, models, ranked, holdout, params.strict, {
      withReplacement: replacement,
      passes: params.passes,
    });
    const total = soup.accepted.length;
    const scale = 1 / total;
    // with replacement an ingredient may be in the soup several times: its coefficient is count / total
    const counts = new Map<Ingredient, number>();
    for (const a of soup.accepted) counts.set(a.item, (counts.get(a.item) ?? 0) + 1);
    return {
      label: replacement
        ? `greedy soup with replacement (${total} additions of ${counts.size} of ${ranked.length})`
        : `greedy soup (${total} of ${ranked.length})`,
      parts: [...counts].map(([ingredient, count]) => ({ ingredient, coefficient: count * scale })),
      params: {
        rule: params.strict ? '>' : '>=',
        order: GREEDY_ORDER,
        ...(replacement ? { 'with-replacement': true, passes: params.passes } : {}),
      },
      fields: { steps: soup.steps },
      weights: { sum: soup.sum, scale },
    };
  },
};
