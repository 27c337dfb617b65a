import { z } from 'zod';
import type { MergeMethod } from './method.js';
import { baseOf, ingredientWeights } from './method.js';

const Params = z.object({
  lambda: z.number().min(-4).max(4).default(1).describe('scaling of the summed task vectors'),
  weights: z
    .array(z.number().min(-4).max(4))
    .optional()
    .describe('per-ingredient weights wᵢ (default 1 each)'),
});

/** Ilharco et al. 2023, "Editing models with task arithmetic": θ = θ₀ + λ Σ wᵢ (θᵢ − θ₀). */
export const taskArithmetic: MergeMethod<typeof Params> = {
  kind: 'merge',
  name: 'task-arithmetic',
  title: 'Task arithmetic',
  summary: 'θ = θ₀ + λ·Σ wᵢ(θᵢ − θ₀): the base plus the scaled sum of task vectors',
  reference: 'Ilharco et al., Editing Models with Task Arithmetic, ICLR 2023 (arXiv 2212.04089)',
  params: Params,
  needs: { base: 'required', models: { min: 1 }, holdout: false, unlabelled: false },
  searchable: ['lambda'],
  start(params, sources) {
    const weights = ingredientWeights(params.weights, sources.models.length, 'task-arithmetic');
    const lambda = params.lambda;
    return {
      merger: {
        combine(view, _stats, out) {
          const base = baseOf(view);
          for (let k = 0; k < view.count; k++) {
            const b = base[k]!;
            let sum = 0;
            for (let i = 0; i < weights.length; i++) sum += weights[i]! * (view.models[i]![k]! - b);
            out[k] = b + lambda * sum;
          }
        },
      },
      report: () => ({
        // the same soup as the linear combination (1 − λΣw)·θ₀ + Σ λwᵢ·θᵢ
        record: {
          linear_coefficients: {
            base: 1 - lambda * weights.reduce((a, b) => a + b, 0),
            ingredients: weights.map((w) => lambda * w),
          },
        },
        warnings: [],
      }),
    };
  },
};
