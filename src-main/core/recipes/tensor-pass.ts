import { TureenError } from '../../common/errors.js';
import type { Ingredient, WeightLayout } from '../checkpoints/index.js';
import { WeightAccumulator } from '../checkpoints/index.js';
import type { Precision } from '../checkpoints/accumulator.js';
import { readSlice } from '../checkpoints/similarity.js';
import { verifyIdenticalIntegers } from '../checkpoints/soup.js';
import { elementCount } from '../tensors/dtypes.js';

/** Bytes of one slice pass: every ingredient's slice (and the base's) in float64 together. */
export const SLICE_PASS_BYTES = 32 * 1024 * 1024;

export interface MergeSources {
  base: Ingredient | null;
  /** the ingredients, in recipe order (DARE's drop pattern is keyed by this index) */
  models: readonly Ingredient[];
}

/** The same elements of one tensor in every ingredient (and the base), decoded to float64. */
export interface SliceView {
  start: number;
  count: number;
  base: Float64Array | null;
  /** θᵢ (the weights, not task vectors) */
  models: Float64Array[];
}

/** One tensor, as a method's per-tensor statistics read it before the merge. */
export interface TensorRef {
  name: string;
  count: number;
  /** every ingredient's slices in element order (memory: one slice each) */
  slices(): AsyncGenerator<SliceView>;
  /** one ingredient's whole tensor, minus the base's when there is one (memory: two tensors) */
  wholeTaskVector(model: number): Promise<Float64Array>;
}

/**
 * A merge method's arithmetic over one family: optional per-tensor statistics from a first look at the
 * tensor (norms, a Gram matrix, trim thresholds), then the merged value of every element, slice by slice.
 */
export interface TensorMerger<S> {
  prepare?(tensor: TensorRef): Promise<S>;
  /** out[k] = the merged value of element view.start + k */
  combine(view: SliceView, stats: S, out: Float64Array, tensor: string): void;
}

/** Elements per slice so that N + 1 slices of float64 stay within SLICE_PASS_BYTES. */
function sliceElements(sources: MergeSources): number {
  const rows = sources.models.length + (sources.base ? 1 : 0);
  return Math.max(4096, Math.floor(SLICE_PASS_BYTES / rows / 8));
}

function tensorRef(name: string, count: number, sources: MergeSources, span: number): TensorRef {
  const info = (ingredient: Ingredient) => {
    const t = ingredient.tensor(name);
    if (!t || !t.isFloat || elementCount(t.shape) !== count) {
      throw new TureenError(
        'family_mismatch',
        `${ingredient.path}: tensor "${name}" is missing or not a float tensor of ${count} elements; a merge needs one family`,
        { file: ingredient.path, tensor: name },
      );
    }
    return t;
  };
  const read = (ingredient: Ingredient, start: number, length: number) =>
    readSlice(ingredient, info(ingredient), start, length);
  return {
    name,
    count,
    async *slices() {
      for (let start = 0; start < count; start += span) {
        const length = Math.min(span, count - start);
        const base = sources.base ? await read(sources.base, start, length) : null;
        const models: Float64Array[] = [];
        for (const model of sources.models) models.push(await read(model, start, length));
        yield { start, count: length, base, models };
      }
    },
    async wholeTaskVector(model: number) {
      const values = await read(sources.models[model]!, 0, count);
      if (sources.base) {
        const base = await read(sources.base, 0, count);
        for (let i = 0; i < count; i++) values[i] = values[i]! - base[i]!;
      }
      return values;
    },
  };
}

/**
 * Run a merge over every float tensor of `layout`: the method sees the same slice of every ingredient at
 * once, so memory is the result (one model) plus N + 1 slices whatever N. Integer tensors must be identical
 * in every ingredient and the base (they are copied from the first when the soup is written).
 */
export async function mergeByTensor<S>(
  layout: WeightLayout,
  sources: MergeSources,
  merger: TensorMerger<S>,
  options: {
    precision?: Precision;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<WeightAccumulator> {
  const all = [...sources.models, ...(sources.base ? [sources.base] : [])];
  const first = all[0];
  if (!first) throw new TureenError('bad_request', 'a merge needs at least one ingredient');
  await verifyIdenticalIntegers(
    first.tensors.filter((t) => !t.isFloat).map((t) => t.name),
    all,
  );
  const precision = options.precision ?? (layout.entries.some((e) => e.dtype === 'f64') ? 'f64' : 'f32');
  const weights = new WeightAccumulator(layout, { precision });
  const span = sliceElements(sources);
  const total = layout.entries.reduce((s, e) => s + elementCount(e.shape), 0);
  let done = 0;
  for (const entry of layout.entries) {
    options.signal?.throwIfAborted();
    const tensor = tensorRef(entry.name, elementCount(entry.shape), sources, span);
    const stats = merger.prepare ? await merger.prepare(tensor) : (undefined as S);
    for await (const view of tensor.slices()) {
      options.signal?.throwIfAborted();
      const out = new Float64Array(view.count);
      merger.combine(view, stats, out, entry.name);
      for (let k = 0; k < out.length; k++) {
        if (!Number.isFinite(out[k]!)) {
          throw new TureenError(
            'bad_checkpoint',
            `tensor "${entry.name}": the merge gives ${out[k]} at element ${view.start + k}; check the ingredients for NaN/Inf`,
            { tensor: entry.name },
          );
        }
      }
      weights.setRange(entry.name, view.start, out);
      done += view.count;
      options.onProgress?.(done, total);
    }
  }
  return weights;
}
