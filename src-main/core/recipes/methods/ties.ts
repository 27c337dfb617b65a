import { z } from 'zod';
import type { MergeMethod } from './method.js';
import { ingredientWeights } from './method.js';
import { sparseTaskVectors } from './sparse-task-vectors.js';

const Params = z.object({
  density: z
    .number()
    .gt(0)
    .max(1)
    .default(0.2)
    .describe("fraction of each task vector's entries kept per tensor (largest magnitudes)"),
  lambda: z.number().min(-4).max(4).default(1).describe('scaling of the merged task vector'),
  weights: z
    .array(z.number().min(0).max(4))
    .optional()
    .describe('per-ingredient weights wᵢ in the sign election and the disjoint mean (default 1 each)'),
});

/** Yadav et al. 2023, "TIES-Merging": trim, elect sign, disjoint merge; per tensor as in mergekit. */
export const ties: MergeMethod<typeof Params> = {
  kind: 'merge',
  name: 'ties',
  title: 'TIES merging',
  summary:
    'trim each task vector to its largest --density fraction per tensor, elect signs, average the agreeing entries',
  reference:
    'Yadav et al., TIES-Merging: Resolving Interference When Merging Models, NeurIPS 2023 (arXiv 2306.01708)',
  params: Params,
  needs: { base: 'required', models: { min: 1 }, holdout: false, unlabelled: false },
  searchable: ['lambda', 'density'],
  start(params, sources) {
    return sparseTaskVectors({
      weights: ingredientWeights(params.weights, sources.models.length, 'ties'),
      lambda: params.lambda,
      drop: null,
      ties: { density: params.density },
    });
  },
};
