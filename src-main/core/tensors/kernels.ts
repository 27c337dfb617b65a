import { TureenError } from '../../common/errors.js';
import type { DType, FloatDType } from './dtypes.js';
import { dtypeBytes } from './dtypes.js';
import { HALF_TO_FLOAT, bfloat16BitsToFloat, floatToBfloat16Bits, floatToHalfBits } from './half.js';

export type Accumulation = Float32Array | Float64Array;

/** A typed view over little-endian bytes; copies only when the bytes are not aligned for the type. */
export function typedView(
  bytes: Uint8Array,
  dtype: DType,
): Float32Array | Float64Array | Uint16Array | Uint8Array {
  const size = dtypeBytes(dtype);
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const count = aligned.byteLength / size;
  switch (dtype) {
    case 'f32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, count);
    case 'f64':
      return new Float64Array(aligned.buffer, aligned.byteOffset, count);
    case 'f16':
    case 'bf16':
      return new Uint16Array(aligned.buffer, aligned.byteOffset, count);
    default:
      return aligned;
  }
}

/**
 * acc[offset + i] += coefficient * value(src[i]) for a float tensor's bytes. Returns a probe: the float64
 * sum of the source values, which is finite exactly when every value is (float32 values summed over fewer
 * than 2^53 elements cannot overflow float64), so NaN/Inf detection costs one addition per element.
 */
export function addScaled(
  acc: Accumulation,
  offset: number,
  src: Uint8Array,
  dtype: FloatDType,
  coefficient: number,
): number {
  const c = coefficient;
  let probe = 0;
  if (dtype === 'f32' || dtype === 'f64') {
    const s = typedView(src, dtype) as Float32Array | Float64Array;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const v = s[i]!;
      probe += v;
      acc[offset + i] = acc[offset + i]! + c * v;
    }
  } else if (dtype === 'f16') {
    const s = typedView(src, dtype) as Uint16Array;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const v = HALF_TO_FLOAT[s[i]!]!;
      probe += v;
      acc[offset + i] = acc[offset + i]! + c * v;
    }
  } else {
    const s = typedView(src, dtype) as Uint16Array;
    const n = s.length;
    const widened = new Uint32Array(n);
    for (let i = 0; i < n; i++) widened[i] = s[i]! << 16;
    const f = new Float32Array(widened.buffer);
    for (let i = 0; i < n; i++) {
      const v = f[i]!;
      probe += v;
      acc[offset + i] = acc[offset + i]! + c * v;
    }
  }
  return probe;
}

/** Index and value of the first non-finite element of a float tensor's bytes (for error messages). */
export function firstNonFinite(src: Uint8Array, dtype: FloatDType): { index: number; value: number } | null {
  const view = typedView(src, dtype);
  for (let i = 0; i < view.length; i++) {
    const raw = view[i]!;
    const v = dtype === 'f16' ? HALF_TO_FLOAT[raw]! : dtype === 'bf16' ? bfloat16BitsToFloat(raw) : raw;
    if (!Number.isFinite(v)) return { index: i, value: v };
  }
  return null;
}

/** Decode a float tensor's bytes to float64 values (small tensors, similarity, tests). */
export function toFloat64(src: Uint8Array, dtype: FloatDType): Float64Array {
  const view = typedView(src, dtype);
  const out = new Float64Array(view.length);
  for (let i = 0; i < view.length; i++) {
    const raw = view[i]!;
    out[i] = dtype === 'f16' ? HALF_TO_FLOAT[raw]! : dtype === 'bf16' ? bfloat16BitsToFloat(raw) : raw;
  }
  return out;
}

/**
 * dest (bytes in `dtype`) = scale * acc[offset .. offset+count), rounded once to nearest even: the product
 * is formed in float64, so a float64 accumulator gives the correctly rounded float32 mean.
 */
export function writeScaled(
  acc: Accumulation,
  offset: number,
  count: number,
  scale: number,
  dtype: FloatDType,
  dest: Uint8Array,
): void {
  if (dest.byteLength !== count * dtypeBytes(dtype)) {
    throw new TureenError('internal', `writeScaled: ${dest.byteLength} bytes for ${count} ${dtype} values`);
  }
  const view = typedView(dest, dtype);
  if (view.buffer !== dest.buffer || view.byteOffset !== dest.byteOffset) {
    // unaligned destination: compute into an aligned copy, then place it
    const tmp = new Uint8Array(dest.byteLength);
    writeScaled(acc, offset, count, scale, dtype, tmp);
    dest.set(tmp);
    return;
  }
  if (dtype === 'f32' || dtype === 'f64') {
    const d = view as Float32Array | Float64Array;
    if (scale === 1) for (let i = 0; i < count; i++) d[i] = acc[offset + i]!;
    else for (let i = 0; i < count; i++) d[i] = acc[offset + i]! * scale;
  } else if (dtype === 'f16') {
    const d = view as Uint16Array;
    for (let i = 0; i < count; i++) d[i] = floatToHalfBits(acc[offset + i]! * scale);
  } else {
    const d = view as Uint16Array;
    for (let i = 0; i < count; i++) d[i] = floatToBfloat16Bits(acc[offset + i]! * scale);
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
