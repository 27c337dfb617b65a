import type { z } from 'zod';
import { TureenError } from '../../common/errors.js';
import type { WeightAccumulator, WeightLayout } from '../checkpoints/index.js';
import type { Precision } from '../checkpoints/accumulator.js';
import type { MergeMethod, MergeReport, Method } from './methods/method.js';
import type { MergeSources } from './tensor-pass.js';
import { mergeByTensor } from './tensor-pass.js';

export interface Merged {
  weights: WeightAccumulator;
  /** the params as run: the user's, with the method's defaults filled in */
  params: Record<string, unknown>;
  report: MergeReport;
}

/** The method's params with defaults, or a bad_request naming the field and the allowed range. */
export function parseMethodParams(
  method: Pick<Method, 'name' | 'params'>,
  raw: unknown,
): Record<string, unknown> {
  const parsed = method.params.safeParse(raw ?? {});
  if (parsed.success) return parsed.data as Record<string, unknown>;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || '(params)';
  throw new TureenError('bad_request', `${method.name}: ${field}: ${issue.message}`, {
    method: method.name,
    field,
  });
}

/** Refuse a run whose ingredients do not fit what the method needs (base, number of models). */
export function checkNeeds(method: MergeMethod, sources: MergeSources): void {
  const n = sources.models.length;
  const { base, models } = method.needs;
  if (base === 'required' && !sources.base) {
    throw new TureenError(
      'bad_request',
      `${method.name} needs the base model the ingredients were fine-tuned from: give --base <file> (or put it in a base/ folder)`,
      { field: 'base' },
    );
  }
  if (base === 'none' && sources.base) {
    throw new TureenError('bad_request', `${method.name} takes no base model`, { field: 'base' });
  }
  if (n < models.min || (models.max !== undefined && n > models.max)) {
    const want = models.max === models.min ? `exactly ${models.min}` : `at least ${models.min}`;
    throw new TureenError('bad_request', `${method.name} needs ${want} ingredients, got ${n}`, {
      field: 'ingredients',
    });
  }
}

/**
 * Run a registered merge method over a family's float tensors: validate params and needs, stream the
 * method tensor by tensor (see tensor-pass.ts), and return the weights with what the recipe records.
 */
export async function mergeWeights(
  method: MergeMethod,
  rawParams: unknown,
  sources: MergeSources,
  layout: WeightLayout,
  options: {
    precision?: Precision;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<Merged> {
  const params = parseMethodParams(method, rawParams);
  checkNeeds(method, sources);
  const run = method.start(params as z.output<typeof method.params>, sources);
  const weights = await mergeByTensor(layout, sources, run.merger, options);
  return { weights, params, report: run.report() };
}
