import { z } from 'zod';
import type { MergeMethod } from './method.js';
import { ingredientWeights } from './method.js';
import { sparseTaskVectors } from './sparse-task-vectors.js';

const Params = z.object({
  drop: z
    .number()
    .min(0)
    .lt(1)
    .default(0.9)
    .describe('probability p of dropping each task-vector entry; kept entries are rescaled by 1/(1 − p)'),
  seed: z
    .number()
    .int()
    .min(0)
    .max(0xffffffff)
    .default(0)
    .describe('seed of the drop pattern: one seed gives the same soup bit for bit'),
  lambda: z.number().min(-4).max(4).default(1).describe('scaling of the merged task vector'),
  ties: z
    .boolean()
    .default(false)
    .describe(
      'merge the dropped task vectors with TIES (elect signs, disjoint mean) instead of summing them',
    ),
  density: z
    .number()
    .gt(0)
    .max(1)
    .default(1)
    .describe('with ties: fraction of each dropped task vector kept per tensor by magnitude (1: no trim)'),
  weights: z
    .array(z.number().min(-4).max(4))
    .optional()
    .describe('per-ingredient weights wᵢ (default 1 each)'),
});

/** Yu et al. 2024, "Language Models are Super Mario": drop and rescale (DARE), then sum or TIES. */
export const dare: MergeMethod<typeof Params> = {
  kind: 'merge',
  name: 'dare',
  title: 'DARE',
  summary:
    'drop each task-vector entry with probability --drop (seeded), rescale the rest by 1/(1 − p), then sum or --ties',
  reference:
    'Yu et al., Language Models are Super Mario: Absorbing Abilities from Homologous Models as a Free Lunch, ICML 2024 (arXiv 2311.03099)',
  params: Params,
  needs: { base: 'required', models: { min: 1 }, holdout: false, unlabelled: false },
  searchable: ['lambda', 'drop', 'density'],
  start(params, sources) {
    return sparseTaskVectors({
      weights: ingredientWeights(params.weights, sources.models.length, 'dare'),
      lambda: params.lambda,
      drop: { p: params.drop, seed: params.seed },
      ties: params.ties ? { density: params.density } : null,
    });
  },
};
