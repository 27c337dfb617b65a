import type { z } from 'zod';
import { TureenError } from '../../../common/errors.js';
import type { MergeSources, TensorMerger } from '../tensor-pass.js';

/** What a method needs besides its ingredients. */
export interface MethodNeeds {
  /** the pretrained checkpoint the ingredients were fine-tuned from */
  base: 'required' | 'optional' | 'none';
  /** how many ingredients (exactly two for SLERP) */
  models: { min: number; max?: number };
  /** a labelled held-out set (greedy, learned, searches) */
  holdout: boolean;
  /** an unlabelled set (label-free objectives) */
  unlabelled: boolean;
}

/** What a finished merge adds to its recipe, and what the user should hear about it. */
export interface MergeReport {
  record: Record<string, unknown>;
  warnings: string[];
}

/** One running merge: the tensor-by-tensor arithmetic and, once it has run, its report. */
export interface MergeRun {
  merger: TensorMerger<unknown>;
  report(): MergeReport;
}

/**
 * A merge method of the registry: weights computed from the ingredients (and base) alone, streaming tensor
 * by tensor. Its params schema gives defaults and ranges; the CLI verb and the forms are built from it.
 */
export interface MergeMethod<P extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  /** one line for help texts and method cards */
  summary: string;
  /** the paper, for docs and the report */
  reference: string;
  params: P;
  needs: MethodNeeds;
  /** params the held-out search may vary (`--search name=lo:hi:step`) */
  searchable: ReadonlyArray<keyof z.output<P> & string>;
  start(params: z.output<P>, sources: MergeSources): MergeRun;
}

/** Per-ingredient weights wᵢ (default 1 each), checked against the number of ingredients. */
export function ingredientWeights(
  weights: readonly number[] | undefined,
  n: number,
  method: string,
): number[] {
  if (weights === undefined) return Array.from({ length: n }, () => 1);
  if (weights.length !== n) {
    throw new TureenError(
      'bad_request',
      `${method}: ${weights.length} weights for ${n} ingredients; give one weight per ingredient`,
      { field: 'weights' },
    );
  }
  return [...weights];
}

/** The base's slice, which the methods that need one are only started with (checked by needs). */
export function baseOf(view: { base: Float64Array | null }): Float64Array {
  if (!view.base) throw new TureenError('internal', 'merge method started without its base');
  return view.base;
}
