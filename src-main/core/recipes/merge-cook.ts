import type { Family, Ingredient, WeightAccumulator } from '../checkpoints/index.js';
import { TureenError } from '../../common/errors.js';
import type { EvalSet } from '../datasets/evalset.js';
import { mergeWeights, parseMethodParams } from './merge.js';
import type { MergeMethod, MergeReport } from './methods/method.js';
import type { RecipeRunner } from './runner.js';
import type { SearchGrid } from './search.js';
import type { SoupModels } from './soup-models.js';

/** The ingredients a merge runs on: an opened family with its base. */
export interface MergeFamily {
  family: Family<Ingredient>;
  members: Ingredient[];
  base: Ingredient | null;
  relative(file: string): string;
}

export interface SearchPoint {
  value: number;
  holdout_correct: number;
  holdout_top1: number;
}

/** What a searched merge records: the grid on the held-out set and the value kept. */
export interface SearchRecord {
  param: string;
  /** the held-out set the grid was scored on */
  holdout: { name: string; sha256: string };
  points: SearchPoint[];
  chosen: number;
  rule: string;
}

export interface MergedSoup {
  weights: WeightAccumulator;
  label: string;
  /** the ingredients with their weight wᵢ in the method (the soup is not Σ wᵢ·θᵢ) */
  parts: Array<{ ingredient: Ingredient; coefficient: number }>;
  params: Record<string, unknown>;
  report: MergeReport;
  search: SearchRecord | null;
}

function labelOf(method: MergeMethod, params: Record<string, unknown>, n: number): string {
  const shown = Object.entries(params)
    .filter(([, v]) => typeof v === 'number' || v === true)
    .map(([k, v]) => (v === true ? k : `${k} ${String(v)}`));
  return `${method.title} (${n}${shown.length ? `, ${shown.join(', ')}` : ''})`;
}

/**
 * Merge a family with a registered method. With a search grid, every grid point is merged in memory and
 * scored on the held-out set; the best by held-out correct count is kept (ties: the first in grid order),
 * and the whole curve is returned for the recipe.
 */
export async function mergeSoup(
  runner: RecipeRunner,
  models: SoupModels,
  opened: MergeFamily,
  method: MergeMethod,
  rawParams: Record<string, unknown>,
  options: { search?: SearchGrid | null; holdout?: EvalSet | null } = {},
): Promise<MergedSoup> {
  const sources = { base: opened.base, models: opened.members };
  const layout = models.graph.weightLayout;
  const signal = runner.signal;
  const common = signal ? { signal } : {};
  const params = parseMethodParams(method, rawParams);
  const weightsOf = (p: Record<string, unknown>) => {
    const w = p.weights;
    return opened.members.map((ingredient, i) => ({
      ingredient,
      coefficient: Array.isArray(w) ? (w[i] as number) : 1,
    }));
  };
  const search = options.search ?? null;
  if (!search) {
    const merged = await mergeWeights(method, params, sources, layout, common);
    return {
      weights: merged.weights,
      label: labelOf(method, merged.params, opened.members.length),
      parts: weightsOf(merged.params),
      params: merged.params,
      report: merged.report,
      search: null,
    };
  }
  const holdout = options.holdout;
  if (!holdout) {
    throw new TureenError(
      'bad_evalset',
      `--search ${search.param} scores every grid point on a held-out set: give --holdout (or a folder with one)`,
      { field: 'holdout' },
    );
  }
  runner.plan(holdout.n * search.values.length);
  const points: SearchPoint[] = [];
  let best: { value: number; correct: number; merged: Awaited<ReturnType<typeof mergeWeights>> } | null =
    null;
  for (const value of search.values) {
    runner.throwIfCancelled();
    const merged = await mergeWeights(method, { ...params, [search.param]: value }, sources, layout, common);
    const label = `${method.name} ${search.param} = ${value}`;
    const { model } = await models.soupModelShared(merged.weights, 1, label);
    const result = await runner.evaluate(model, holdout, `${label} on ${holdout.name}`);
    const correct = result.outcome.metrics.correct;
    points.push({ value, holdout_correct: correct, holdout_top1: correct / holdout.n });
    if (!best || correct > best.correct) best = { value, correct, merged };
    runner.release(model);
  }
  const chosen = best!;
  return {
    weights: chosen.merged.weights,
    label: labelOf(method, chosen.merged.params, opened.members.length),
    parts: weightsOf(chosen.merged.params),
    params: chosen.merged.params,
    report: chosen.merged.report,
    search: {
      param: search.param,
      holdout: { name: holdout.name, sha256: holdout.hash },
      points,
      chosen: chosen.value,
      rule: 'most held-out correct; ties: the first grid point',
    },
  };
}
