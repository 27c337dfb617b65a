import type { z } from 'zod';
import { TureenError } from '../../../common/errors.js';
import type { Precision } from '../../checkpoints/accumulator.js';
import type { Ingredient, WeightAccumulator } from '../../checkpoints/index.js';
import type { OpenedFamily } from '../../checkpoints/open-family.js';
import type { EvalSet } from '../../datasets/evalset.js';
import type { EvalPlan } from '../../datasets/registry.js';
import type { RecipeRunner } from '../runner.js';
import type { SoupModels } from '../soup-models.js';
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
export interface MergeMethod<P extends z.ZodObject = z.ZodObject> extends MethodDescription<P> {
  kind: 'merge';
  start(params: z.output<P>, sources: MergeSources): MergeRun;
}

/** What every method of the registry declares, merge or soup: the CLI verb, forms and docs come from it. */
interface MethodDescription<P extends z.ZodObject> {
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

/** What a soup method cooks with: the opened family, and the evaluation tools when the cook evaluates. */
export interface SoupEnv {
  sweep: OpenedFamily;
  /** the ingredient files or folders as given, in the order given (interpolation's A and B) */
  given: readonly string[];
  /** null when the cook only averages and writes (evaluate: false): no graph, no inference */
  evaluation: {
    runner: RecipeRunner;
    models: SoupModels;
    plan: EvalPlan;
    /** the held-out set of the plan, if any (required by methods whose needs.holdout is true) */
    holdout: EvalSet | null;
  } | null;
  /** accumulation precision asked for (an evaluated soup's float32 weights are what was evaluated) */
  precision: Precision | undefined;
}

/** A soup as a method chose it: the ingredients with coefficients, and what its recipe records. */
export interface CookedSoup {
  label: string;
  /** θ = Σ coefficient·θᵢ over these (greedy: the accepted ingredients) */
  parts: Array<{ ingredient: Ingredient; coefficient: number }>;
  /** the recorded params beside precision and dtype (the method's, as run, in the recipe's vocabulary) */
  params: Record<string, unknown>;
  /** the method's own recipe fields (greedy steps, learned coefficients and loss curve, interpolation points) */
  fields: Record<string, unknown>;
  /** the weights that were evaluated (the family graph's layout), as `scale · sum`; absent when the cook
   *  does not evaluate: the parts are then averaged over the family's own layout */
  weights?: { sum: WeightAccumulator; scale: number };
  /** a learned soup's own calibration: its NLL and ECE are of softmax(logit_scale · logits) */
  logitScale?: number;
  /** held-out evaluations the choice spent (the learned soup's Compare row names them) */
  heldOutEvaluations?: number;
  warnings?: string[];
}

/**
 * A soup method of the registry: a combination of the ingredients themselves (uniform, greedy, learned,
 * interpolation), chosen with or without the held-out set. Params, needs and the description work as a
 * merge method's; `cook` chooses the coefficients and says what the recipe records.
 */
export interface SoupMethod<P extends z.ZodObject = z.ZodObject> extends MethodDescription<P> {
  kind: 'soup';
  cook(params: z.output<P>, env: SoupEnv): Promise<CookedSoup>;
}

/** Any method of the registry. */
export type Method = SoupMethod | MergeMethod;
