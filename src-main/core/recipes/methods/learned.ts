import { z } from 'zod';
import { LEARNED_DEFAULT_BUDGET, LEARNED_OPTIMISER, learnedSoup } from '../learned.js';
import type { SoupMethod } from './method.js';
import { heldOut } from './soup-env.js';

const Params = z.object({
  budget: z
    .number()
    .int()
    .min(4)
    .max(5000)
    .default(LEARNED_DEFAULT_BUDGET)
    .describe('held-out evaluations the optimiser may spend'),
  seed: z.number().int().min(0).max(4294967295).default(0).describe('optimiser seed'),
  objective: z
    .enum(['cross-entropy', 'entropy'])
    .default('cross-entropy')
    .describe(
      "cross-entropy: held-out cross-entropy with a learned logit scale (the paper's); entropy: label-free, the mean prediction entropy on the held-out set's inputs, its labels not read (AdaMerging, Yang et al. 2024)",
    ),
});

/** What a learned soup minimises (recorded in its recipe). */
export const LEARNED_OBJECTIVE = 'held-out cross-entropy';
export const LEARNED_ENTROPY_OBJECTIVE =
  'mean prediction entropy on the held-out inputs (label-free; labels not read; logit scale 1)';

/**
 * Wortsman et al. 2022, the learned soup: mixing coefficients softmax(z) and a logit scale minimising
 * held-out cross-entropy (by CMA-ES here, since ONNX Runtime has no autograd).
 */
export const learned: SoupMethod<typeof Params> = {
  kind: 'soup',
  name: 'learned',
  title: 'Learned soup',
  summary:
    'mixing coefficients and a logit scale minimising held-out cross-entropy (CMA-ES, seeded, budgeted)',
  reference: 'Wortsman et al., Model soups, ICML 2022 (arXiv 2203.05482), learned soup by CMA-ES',
  params: Params,
  needs: { base: 'none', models: { min: 1 }, holdout: true, unlabelled: false },
  searchable: [],
  async cook(params, env) {
    const { runner, models, holdout } = heldOut(env, 'learned');
    const { members } = env.sweep;
    const soup = await learnedSoup(runner, models, members, holdout, params);
    const entropy = params.objective === 'entropy';
    return {
      label: entropy ? `learned soup (${members.length}, entropy)` : `learned soup (${members.length})`,
      parts: members.map((ingredient, i) => ({ ingredient, coefficient: soup.coefficients[i]! })),
      params: {
        optimiser: LEARNED_OPTIMISER,
        budget: params.budget,
        seed: params.seed,
        objective: entropy ? LEARNED_ENTROPY_OBJECTIVE : LEARNED_OBJECTIVE,
      },
      fields: {
        coefficients: soup.coefficients,
        logit_scale: soup.logitScale,
        loss_curve: soup.lossCurve,
        optimiser: LEARNED_OPTIMISER,
        budget: params.budget,
      },
      weights: { sum: soup.sum, scale: 1 },
      logitScale: soup.logitScale,
      heldOutEvaluations: soup.evaluations,
    };
  },
};
