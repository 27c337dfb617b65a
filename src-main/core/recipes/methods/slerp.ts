import { z } from 'zod';
import type { SlerpCoefficients } from '../merge-kernels.js';
import { slerpCoefficients } from '../merge-kernels.js';
import type { MergeMethod } from './method.js';

const Params = z.object({
  t: z.number().min(0).max(1).default(0.5).describe('position between A (0) and B (1)'),
});

/**
 * Spherical linear interpolation of two models, per tensor on the raw weights (or, with a base, on their
 * task vectors, the base added back), linear where the two directions are nearly parallel — as mergekit.
 */
export const slerp: MergeMethod<typeof Params> = {
  kind: 'merge',
  name: 'slerp',
  title: 'SLERP',
  summary:
    'spherical interpolation of two models per tensor at --t (linear when nearly parallel); --base optional',
  reference:
    'Shoemake, Animating rotation with quaternion curves, SIGGRAPH 1985; per-tensor model merging as in mergekit',
  params: Params,
  needs: { base: 'optional', models: { min: 2, max: 2 }, holdout: false, unlabelled: false },
  searchable: ['t'],
  start(params, sources) {
    const t = params.t;
    let tensors = 0;
    let linear = 0;
    return {
      merger: {
        async prepare(tensor) {
          let aa = 0;
          let bb = 0;
          let ab = 0;
          for await (const view of tensor.slices()) {
            const [a, b] = view.models as [Float64Array, Float64Array];
            for (let k = 0; k < view.count; k++) {
              const base = view.base ? view.base[k]! : 0;
              const x = a[k]! - base;
              const y = b[k]! - base;
              aa += x * x;
              bb += y * y;
              ab += x * y;
            }
          }
          const c = slerpCoefficients(t, aa, bb, ab);
          tensors++;
          if (c.linear) linear++;
          return c;
        },
        combine(view, stats, out) {
          const { s0, s1 } = stats as SlerpCoefficients;
          const [a, b] = view.models as [Float64Array, Float64Array];
          for (let k = 0; k < view.count; k++) {
            const base = view.base ? view.base[k]! : 0;
            out[k] = base + s0 * (a[k]! - base) + s1 * (b[k]! - base);
          }
        },
      },
      report: () => ({
        record: { relative_to_base: sources.base !== null, linear_tensors: linear, tensors },
        warnings: [],
      }),
    };
  },
};
