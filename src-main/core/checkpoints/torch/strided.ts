/** True when a view with these strides is the row-major layout of its shape (size-1 axes ignored). */
export function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/**
 * Copy a strided view out of its storage into a fresh row-major buffer (what `tensor.contiguous()`
 * does). `offset` and `stride` are in elements of `itemSize` bytes; the caller checked the bounds.
 */
export function gatherStrided(
  storage: Uint8Array,
  itemSize: number,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * itemSize);
  if (count === 0) return out;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  const inner = rank ? shape[rank - 1]! : 1;
  const innerStride = rank ? stride[rank - 1]! : 1;
  let written = 0;
  for (;;) {
    let base = offset;
    for (let d = 0; d < rank - 1; d++) base += index[d]! * stride[d]!;
    if (innerStride === 1) {
      out.set(storage.subarray(base * itemSize, (base + inner) * itemSize), written);
      written += inner * itemSize;
    } else {
      for (let j = 0; j < inner; j++) {
        const from = (base + j * innerStride) * itemSize;
        out.set(storage.subarray(from, from + itemSize), written);
        written += itemSize;
      }
    }
    let d = rank - 2;
    while (d >= 0) {
      index[d]!++;
      if (index[d]! < shape[d]!) break;
      index[d] = 0;
      d--;
    }
    if (d < 0) return out;
  }
}
