import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { firstNonFinite } from '../tensors/kernels.js';
import type { WeightAccumulator } from './accumulator.js';

/**
 * Refuse a soup whose weights are not all finite in the dtype they are written in, before any file is
 * opened. Ingredients are checked as they are read; this catches what the arithmetic makes of finite
 * inputs: coefficients such as α = 1e308 overflow float32, and values past 65504 overflow float16.
 */
export function assertFiniteSoup(
  weights: WeightAccumulator,
  scale: number,
  tensors: ReadonlyArray<{ name: string; dtype: FloatDType }>,
  out: string,
): void {
  for (const t of tensors) {
    if (!weights.has(t.name)) continue;
    const bad = firstNonFinite(weights.tensorBytes(t.name, scale, t.dtype), t.dtype);
    if (bad) {
      throw new TureenError(
        'bad_request',
        `${out}: tensor "${t.name}" of the soup would hold ${bad.value} at element ${bad.index} (${t.dtype}); the coefficients overflow it, so nothing was written`,
        { file: out, tensor: t.name, element: bad.index },
      );
    }
  }
}
