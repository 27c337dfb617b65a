import { z } from 'zod';
import type { SoupMethod } from './method.js';

const Params = z.object({});

/** Wortsman et al. 2022, the uniform soup: the mean of every ingredient. */
export const uniform: SoupMethod<typeof Params> = {
  kind: 'soup',
  name: 'uniform',
  title: 'Uniform soup',
  summary: 'the mean of all checkpoints (a base found in a base/pretrained/zeroshot folder is left out)',
  reference:
    'Wortsman et al., Model soups: averaging weights of multiple fine-tuned models improves accuracy without increasing inference time, ICML 2022 (arXiv 2203.05482)',
  params: Params,
  needs: { base: 'none', models: { min: 1 }, holdout: false, unlabelled: false },
  searchable: [],
  async cook(_params, env) {
    const { members } = env.sweep;
    const coefficient = 1 / members.length;
    const parts = members.map((ingredient) => ({ ingredient, coefficient }));
    const label = `uniform soup (${members.length})`;
    if (!env.evaluation) return { label, parts, params: {}, fields: {} };
    // (Σ θᵢ) · 1/N, as a framework's mean: the running sum with weight 1, the scale applied once
    const { models, runner } = env.evaluation;
    const sum = models.accumulator(env.precision);
    for (const ingredient of members)
      await sum.addScaled(ingredient, 1, runner.signal ? { signal: runner.signal } : {});
    return { label, parts, params: {}, fields: {}, weights: { sum, scale: coefficient } };
  },
};
