import { z } from 'zod';
import { modelStockRatio } from '../merge-kernels.js';
import type { MergeMethod } from './method.js';
import { baseOf } from './method.js';

const Params = z.object({});

/**
 * Jang et al. 2024, "Model Stock": per tensor, the mean pairwise cosine of the k task vectors sets how far
 * from the base towards the ingredients' mean the soup goes. No data and nothing to tune.
 */
export const modelStock: MergeMethod<typeof Params> = {
  kind: 'merge',
  name: 'model-stock',
  title: 'Model Stock',
  summary:
    "per tensor t = k·cos/((k−1)·cos+1) from the task vectors' mean cosine; θ = t·mean(θᵢ) + (1 − t)·θ₀",
  reference:
    'Jang et al., Model Stock: All we need is just a few fine-tuned models, ECCV 2024 (arXiv 2403.19522)',
  params: Params,
  needs: { base: 'required', models: { min: 2 }, holdout: false, unlabelled: false },
  searchable: [],
  start(_params, sources) {
    const k = sources.models.length;
    const ratios: Record<string, number> = {};
    return {
      merger: {
        async prepare(tensor) {
          const gram = Array.from({ length: k }, () => new Float64Array(k));
          const deltas = Array.from({ length: k }, () => new Float64Array(0));
          for await (const view of tensor.slices()) {
            const base = baseOf(view);
            for (let i = 0; i < k; i++) {
              const d = new Float64Array(view.count);
              const m = view.models[i]!;
              for (let e = 0; e < view.count; e++) d[e] = m[e]! - base[e]!;
              deltas[i] = d;
            }
            for (let i = 0; i < k; i++) {
              for (let j = i; j < k; j++) {
                const a = deltas[i]!;
                const b = deltas[j]!;
                let dot = 0;
                for (let e = 0; e < view.count; e++) dot += a[e]! * b[e]!;
                gram[i]![j] = gram[i]![j]! + dot;
              }
            }
          }
          for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) gram[i]![j] = gram[j]![i]!;
          const { t } = modelStockRatio(gram);
          ratios[tensor.name] = t;
          return t;
        },
        combine(view, stats, out) {
          const t = stats as number;
          const base = baseOf(view);
          for (let e = 0; e < view.count; e++) {
            let sum = 0;
            for (let i = 0; i < k; i++) sum += view.models[i]![e]!;
            out[e] = t * (sum / k) + (1 - t) * base[e]!;
          }
        },
      },
      report: () => ({ record: { ratios }, warnings: [] }),
    };
  },
};
