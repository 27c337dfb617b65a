import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { dtypeBytes, elementCount } from '../tensors/dtypes.js';
import { toFloat64 } from '../tensors/kernels.js';
import type { Ingredient, TensorInfo } from './ingredient.js';
import type { TensorLocation } from './onnx-file.js';
import { readRange } from './read-range.js';

/** Elements per slice: N ingredients × this × 8 bytes stays small whatever the tensor sizes. */
const SLICE_ELEMENTS = 1 << 20;

export interface SimilarityMatrix {
  paths: string[];
  base: string | null;
  /** true: vectors are θ_i − θ_base (task vectors); false: the weights themselves */
  taskVectors: boolean;
  /** float parameters compared (integer tensors are not part of the vectors) */
  parameters: number;
  norms: number[];
  cosine: number[][];
  angleDegrees: number[][];
  l2: number[][];
  /**
   * With `centred: true`: Pearson correlation of the vectors with every tensor centred on its own mean,
   * pooled over tensors. Unlike the cosine it ignores offsets shared by construction (LayerNorm gains near
   * 1, biases), so two independent initialisations give ≈ 0 while runs fine-tuned from one start stay high.
   */
  centredCorrelation?: number[][];
}

/** Elements [start, start + count) of one float tensor of an ingredient, decoded to float64. */
export async function readSlice(
  ingredient: Ingredient,
  info: TensorInfo,
  start: number,
  count: number,
): Promise<Float64Array> {
  const location: TensorLocation = ingredient.locate(info.name);
  const size = dtypeBytes(info.dtype);
  const bytes =
    location.kind === 'memory'
      ? location.bytes.subarray(start * size, (start + count) * size)
      : await readRange(location.file, location.offset + start * size, count * size, ingredient.path);
  return toFloat64(bytes, info.dtype as FloatDType);
}

/**
 * Pairwise cosine similarity, angle and L2 distance of task vectors (θ_i − θ_base) or, without a base,
 * of the weights. One pass over the files: the Gram matrix is accumulated slice by slice in float64.
 */
export async function similarityMatrix(
  ingredients: readonly Ingredient[],
  base: Ingredient | null,
  options: {
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    /** also compute `centredCorrelation` (the same pass: per-tensor sums are kept beside the Gram matrix) */
    centred?: boolean;
  } = {},
): Promise<SimilarityMatrix> {
  const n = ingredients.length;
  if (n < 2) throw new TureenError('bad_request', 'similarity needs at least two checkpoints');
  const reference = ingredients[0]!;
  const tensors = reference.tensors.filter((t) => t.isFloat);
  for (const ing of [...ingredients.slice(1), ...(base ? [base] : [])]) {
    for (const t of tensors) {
      const other = ing.tensor(t.name);
      if (!other || !other.isFloat || elementCount(other.shape) !== elementCount(t.shape)) {
        throw new TureenError(
          'family_mismatch',
          `${ing.path}: tensor "${t.name}" is missing or has another shape than in ${reference.path}; similarity needs one family`,
          { file: ing.path, tensor: t.name },
        );
      }
    }
  }
  const gram = Array.from({ length: n }, () => new Float64Array(n));
  // Σ_t (G_t − s_t s_tᵀ / n_t): the Gram matrix of the per-tensor-centred vectors, from per-tensor sums.
  const centredGram = options.centred ? Array.from({ length: n }, () => new Float64Array(n)) : null;
  const total = tensors.reduce((s, t) => s + elementCount(t.shape), 0);
  let done = 0;
  for (const t of tensors) {
    const count = elementCount(t.shape);
    const sums = new Float64Array(n);
    for (let start = 0; start < count; start += SLICE_ELEMENTS) {
      options.signal?.throwIfAborted();
      const len = Math.min(SLICE_ELEMENTS, count - start);
      const baseSlice = base ? await readSlice(base, base.tensor(t.name)!, start, len) : null;
      const vectors: Float64Array[] = [];
      for (const ing of ingredients) {
        const v = await readSlice(ing, ing.tensor(t.name)!, start, len);
        if (baseSlice) for (let k = 0; k < len; k++) v[k] = v[k]! - baseSlice[k]!;
        if (centredGram) {
          let s = 0;
          for (let k = 0; k < len; k++) s += v[k]!;
          sums[vectors.length] = sums[vectors.length]! + s;
        }
        vectors.push(v);
      }
      for (let i = 0; i < n; i++) {
        const a = vectors[i]!;
        for (let j = i; j < n; j++) {
          const b = vectors[j]!;
          let dot = 0;
          for (let k = 0; k < len; k++) dot += a[k]! * b[k]!;
          gram[i]![j] = gram[i]![j]! + dot;
          if (centredGram) centredGram[i]![j] = centredGram[i]![j]! + dot;
        }
      }
      done += len;
      options.onProgress?.(done, total);
    }
    if (centredGram)
      for (let i = 0; i < n; i++)
        for (let j = i; j < n; j++) centredGram[i]![j] = centredGram[i]![j]! - (sums[i]! * sums[j]!) / count;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) gram[i]![j] = gram[j]![i]!;
  const norms = gram.map((row, i) => Math.sqrt(row[i]!));
  const cosine = gram.map((row, i) =>
    Array.from(row, (g, j) =>
      norms[i]! > 0 && norms[j]! > 0
        ? Math.max(-1, Math.min(1, g / (norms[i]! * norms[j]!)))
        : i === j
          ? 1
          : 0,
    ),
  );
  const angleDegrees = cosine.map((row, i) =>
    row.map((c, j) => (i === j ? 0 : (Math.acos(c) * 180) / Math.PI)),
  );
  const l2 = gram.map((row, i) =>
    Array.from(row, (g, j) => (i === j ? 0 : Math.sqrt(Math.max(0, gram[i]![i]! + gram[j]![j]! - 2 * g)))),
  );
  let centredCorrelation: number[][] | undefined;
  if (centredGram) {
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) centredGram[i]![j] = centredGram[j]![i]!;
    const spread = centredGram.map((row, i) => Math.sqrt(Math.max(0, row[i]!)));
    centredCorrelation = centredGram.map((row, i) =>
      Array.from(row, (g, j) =>
        i === j
          ? 1
          : spread[i]! > 0 && spread[j]! > 0
            ? Math.max(-1, Math.min(1, g / (spread[i]! * spread[j]!)))
            : 0,
      ),
    );
  }
  return {
    paths: ingredients.map((i) => i.path),
    base: base?.path ?? null,
    taskVectors: base !== null,
    parameters: total,
    norms,
    cosine,
    angleDegrees,
    l2,
    ...(centredCorrelation ? { centredCorrelation } : {}),
  };
}
