import type { FloatDType } from '../tensors/dtypes.js';
import { dtypeBytes, elementCount } from '../tensors/dtypes.js';
import type { TensorInfo } from './ingredient.js';

/** One float tensor's place in a flat weight buffer. */
export interface LayoutEntry {
  name: string;
  dtype: FloatDType;
  shape: number[];
  /** byte offset in the buffer */
  offset: number;
  byteLength: number;
}

export interface WeightLayout {
  entries: LayoutEntry[];
  totalBytes: number;
}

/** Offsets are aligned so every tensor can be viewed as a typed array in place. */
export const LAYOUT_ALIGNMENT = 64;

export function buildLayout(
  tensors: ReadonlyArray<{ name: string; dtype: FloatDType; shape: number[] }>,
): WeightLayout {
  let offset = 0;
  const entries = tensors.map((t) => {
    offset = Math.ceil(offset / LAYOUT_ALIGNMENT) * LAYOUT_ALIGNMENT;
    const byteLength = elementCount(t.shape) * dtypeBytes(t.dtype);
    const entry: LayoutEntry = { name: t.name, dtype: t.dtype, shape: [...t.shape], offset, byteLength };
    offset += byteLength;
    return entry;
  });
  return { entries, totalBytes: offset };
}

/**
 * The layout of a family's floating-point tensors (in the tensor order of the checkpoint), each in its
 * own dtype or in `dtype` when the user picked an output dtype.
 */
export function weightLayout(tensors: readonly TensorInfo[], dtype?: FloatDType): WeightLayout {
  return buildLayout(
    tensors
      .filter((t) => t.isFloat)
      .map((t) => ({ name: t.name, dtype: dtype ?? (t.dtype as FloatDType), shape: t.shape })),
  );
}
