import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import { familyPickOf } from '../../common/api/family-pick.js';
import type { CookResult, Recipe, RecipeMethod } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';
import type { Precision } from '../checkpoints/accumulator.js';
import type { WeightAccumulator } from '../checkpoints/index.js';
import { averageIngredients, writeSoup } from '../checkpoints/index.js';
import type { OpenedFamily } from '../checkpoints/open-family.js';
import { openFamily } from '../checkpoints/open-family.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { EvalPlan } from '../datasets/registry.js';
import { planEvalSets } from '../datasets/registry.js';
import type { Evaluation } from '../store/evaluation-store.js';
import { computeMetrics } from '../inference/metrics.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { parseMethodParams } from './merge.js';
import { mergeSoup } from './merge-cook.js';
import type { CookedSoup, Method, SoupEnv } from './methods/method.js';
import { findMethod, METHODS } from './methods/index.js';
import { saveRecipe } from '../store/recipe-store.js';
import type { RecipeRunner } from './runner.js';
import type { SearchGrid } from './search.js';
import { parseSearch } from './search.js';
import type { IdentifiedModel } from './soup-models.js';
import { SoupModels } from './soup-models.js';

export type CookOutput = z.output<typeof CookResult>;
export type RecipeDoc = z.output<typeof Recipe>;

export interface CookInput {
  method: z.output<typeof RecipeMethod>;
  ingredients: readonly string[];
  /** the base checkpoint (merge methods; else one found in a base/pretrained/zeroshot folder) */
  base?: string | undefined;
  /** the method's params (its registry schema checks them and fills in defaults) */
  params?: Record<string, unknown> | undefined;
  /** a held-out search of one param, `name=from:to:step` */
  search?: string | undefined;
  holdout?: string | undefined;
  evals?: readonly string[] | undefined;
  /** false: average and write only (no eval sets, no inference); methods that choose on the held-out set
   *  evaluate whatever this says */
  evaluate?: boolean | undefined;
  /** the older names of greedy's, learned's and interpolation's params */
  strict?: boolean | undefined;
  budget?: number | undefined;
  seed?: number | undefined;
  alphas?: readonly number[] | undefined;
  alpha?: number | undefined;
  out?: string | undefined;
  outputs?: readonly string[] | undefined;
  graph?: string | undefined;
  dtype?: FloatDType | undefined;
  precision?: Precision | undefined;
  externalData?: boolean | undefined;
  /** which family when the inputs hold several, and PyTorch EMA weights ('prefer': a kitchen's default) */
  family?: string | undefined;
  ema?: boolean | 'prefer' | undefined;
}

/** The method's params from a request: `params`, plus the older top-level names of the same params. */
export function requestParams(input: CookInput): Record<string, unknown> {
  const legacy: Record<string, unknown> = {};
  if (input.method === 'greedy' && input.strict !== undefined) legacy.strict = input.strict;
  if (input.method === 'learned') {
    if (input.budget !== undefined) legacy.budget = input.budget;
    if (input.seed !== undefined) legacy.seed = input.seed;
  }
  if (input.method === 'interpolate') {
    if (input.alphas !== undefined) legacy.alphas = [...input.alphas];
    if (input.alpha !== undefined) legacy.alpha = input.alpha;
  }
  return { ...legacy, ...(input.params ?? {}) };
}

export function methodNamed(name: string): Method {
  const method = findMethod(name);
  if (!method) {
    throw new TureenError(
      'bad_request',
      `unknown method "${name}"; use one of ${METHODS.map((m) => m.name).join(', ')}`,
      { field: 'method' },
    );
  }
  return method;
}

/** What a method run needs: the family, and (when it evaluates or merges) the runner, graph and eval sets. */
export interface RecipeEnv {
  sweep: OpenedFamily;
  given: readonly string[];
  evaluation: NonNullable<SoupEnv['evaluation']> | null;
  precision: Precision | undefined;
  dtype: FloatDType | undefined;
  search: SearchGrid | null;
  signal: AbortSignal | undefined;
}

/** A recipe as cooked: the recipe document and the weights it describes. */
export interface CookedRecipe {
  recipe: RecipeDoc;
  soup: CookedSoup;
  /** the soup as a model of the family graph (null when the cook neither evaluates nor merges) */
  model: IdentifiedModel | null;
}

/** A merge method through the same interface as a soup: the weights and what its recipe records. */
async function cookMerge(
  method: Extract<Method, { kind: 'merge' }>,
  params: Record<string, unknown>,
  env: RecipeEnv,
): Promise<CookedSoup> {
  const evaluation = env.evaluation;
  if (!evaluation) throw new TureenError('internal', `${method.name}: merged without the family graph`);
  const merged = await mergeSoup(evaluation.runner, evaluation.models, env.sweep, method, params, {
    search: env.search,
    holdout: evaluation.holdout,
  });
  const base = env.sweep.base;
  return {
    label: merged.label,
    parts: merged.parts,
    params: merged.params,
    fields: {
      base: base ? { path: base.path, sha256: await base.sha256(env.signal), bytes: base.bytes } : null,
      merge: merged.report.record,
      ...(merged.search ? { search: merged.search } : {}),
    },
    weights: { sum: merged.weights, scale: 1 },
    warnings: merged.report.warnings,
  };
}

/**
 * Run one method of the registry over an opened family and build its recipe: the one code path behind
 * `tureen cook`, `recipes:cook` and the soups of a comparison, so they record the same params.
 */
export async function cookRecipe(
  method: Method,
  rawParams: Record<string, unknown>,
  env: RecipeEnv,
): Promise<CookedRecipe> {
  const params = parseMethodParams(method, rawParams);
  const soup =
    method.kind === 'merge'
      ? await cookMerge(method, params, env)
      : await method.cook(params as never, {
          sweep: env.sweep,
          given: env.given,
          evaluation: env.evaluation,
          precision: env.precision,
        });
  const model =
    env.evaluation && soup.weights
      ? (await env.evaluation.models.soupModelShared(soup.weights.sum, soup.weights.scale, soup.label)).model
      : null;
  const ingredients: RecipeDoc['ingredients'] = [];
  // every hash is a worker task: start them all so they run on every worker at once (awaited in order below)
  await Promise.all(soup.parts.map((p) => p.ingredient.sha256(env.signal)));
  for (const p of soup.parts) {
    ingredients.push({
      path: p.ingredient.path,
      sha256: await p.ingredient.sha256(env.signal),
      coefficient: p.coefficient,
      bytes: p.ingredient.bytes,
      ...(p.ingredient.pickle?.usedEma ? { ema: true } : {}),
    });
  }
  const holdout = env.evaluation?.holdout ?? null;
  const recipe = {
    method: method.name,
    params: {
      precision: env.precision ?? 'f32',
      ...(env.dtype ? { dtype: env.dtype } : {}),
      ...soup.params,
    },
    ingredients,
    holdout: holdout ? { name: holdout.name, sha256: holdout.hash } : null,
    ...soup.fields,
    weights_sha256: model?.hash ?? null,
  } as RecipeDoc;
  return { recipe, soup, model };
}

/**
 * The soup on every eval set. A learned soup's NLL and ECE are of softmax(logit_scale · logits) (its own
 * calibration); the stored evaluation of its weights keeps scale 1.
 */
async function evaluateEverywhere(
  runner: RecipeRunner,
  model: IdentifiedModel,
  plan: EvalPlan,
  label: string,
  logitScale: number,
): Promise<Evaluation[]> {
  const sets: EvalSet[] = [...(plan.holdout ? [plan.holdout.set] : []), ...plan.others.map((o) => o.set)];
  runner.plan(sets.reduce((a, s) => a + s.n, 0));
  const out: Evaluation[] = [];
  for (const set of sets) {
    const { record, outcome } = await runner.evaluate(model, set, `${label} on ${set.name}`);
    if (logitScale === 1) out.push(record);
    else {
      const scaled = computeMetrics(outcome.logits, set.labels, set.classSubset, logitScale);
      out.push({ ...record, nll: scaled.nll, ece: scaled.ece });
    }
  }
  return out;
}

function folderInputs(inputs: readonly string[]): string[] {
  return inputs.filter((p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
}

/** The weights to write: as evaluated, or (not evaluated) the parts averaged over the family's own layout. */
async function weightsToWrite(
  cooked: CookedRecipe,
  sweep: OpenedFamily,
  input: CookInput,
  runner: RecipeRunner,
): Promise<{ weights: WeightAccumulator; scale: number }> {
  if (cooked.soup.weights) return { weights: cooked.soup.weights.sum, scale: cooked.soup.weights.scale };
  const parts = cooked.soup.parts;
  const total = parts.length + 1;
  return averageIngredients(sweep.family, parts, {
    ...(input.precision ? { precision: input.precision } : {}),
    ...(runner.signal ? { signal: runner.signal } : {}),
    onProgress: (done) =>
      runner.job?.progress({
        done: Math.floor(done),
        total,
        unit: 'ingredients',
        message: `averaging ${parts.length} checkpoints`,
      }),
  });
}

/**
 * Cook with any method of the registry: open the family, choose (on the held-out set when the method
 * needs it), evaluate the soup on every eval set unless asked not to, write it with its recipe if asked,
 * and store the recipe. `recipes:cook`, every `tureen cook <method>` and the Cook view come here.
 */
export async function cook(db: Database, runner: RecipeRunner, input: CookInput): Promise<CookOutput> {
  const method = methodNamed(input.method);
  const sweep = await openFamily(input.ingredients, {
    db,
    ...(input.base ? { base: input.base } : {}),
    ...(input.graph ? { graph: input.graph } : {}),
    ...familyPickOf(input),
    // a soup that cannot fit in memory is refused before any weights are hashed or read
    soup: input.precision ?? 'f32',
  });
  const search = input.search ? parseSearch(input.search, method) : null;
  const needsHoldout = method.needs.holdout || search !== null;
  const evaluate = input.evaluate !== false || needsHoldout;
  const plan: EvalPlan | null = evaluate
    ? planEvalSets(db, {
        folders: folderInputs(input.ingredients),
        holdout: input.holdout,
        evals: input.evals,
        requireHoldout: needsHoldout,
      })
    : null;
  // merges run over the family graph's layout even when nothing is evaluated
  const models = evaluate || method.kind === 'merge' ? await SoupModels.create(sweep) : null;
  const env: RecipeEnv = {
    sweep,
    given: input.ingredients,
    evaluation: models
      ? {
          runner,
          models,
          plan: plan ?? { holdout: null, others: [] },
          holdout: plan?.holdout?.set ?? null,
        }
      : null,
    precision: input.precision,
    dtype: input.dtype,
    search,
    signal: runner.signal,
  };
  const cooked = await cookRecipe(method, requestParams(input), env);
  const { recipe, soup, model } = cooked;
  const evaluations =
    plan && model ? await evaluateEverywhere(runner, model, plan, soup.label, soup.logitScale ?? 1) : [];
  const targets = [...(input.out ? [input.out] : []), ...(input.outputs ?? [])].map((o) => path.resolve(o));
  let written: Awaited<ReturnType<typeof writeSoup>> | null = null;
  if (targets.length) {
    const { weights, scale } = await weightsToWrite(cooked, sweep, input, runner);
    runner.job?.progress({ done: 0, total: null, unit: 'files', message: `writing ${targets.join(', ')}` });
    written = await writeSoup({
      family: sweep.family,
      weights,
      scale,
      outputs: targets,
      ...(input.dtype ? { dtype: input.dtype } : {}),
      ...(input.externalData ? { externalData: true } : {}),
      recipe,
    });
  }
  const outputs = (written?.outputs ?? []).map((o) => ({
    path: o.path,
    sha256: o.sha256,
    format: o.format,
    bytes: o.bytes,
    files: o.files,
  }));
  const warnings = [...sweep.warnings, ...(soup.warnings ?? [])];
  const recipeId = saveRecipe(db, {
    method: method.name,
    label: soup.label,
    folder: sweep.root,
    weightsHash: recipe.weights_sha256,
    document: {
      recipe,
      evaluations,
      outputs: outputs.map((o) => ({ path: o.path, sha256: o.sha256 })),
      ...(warnings.length ? { warnings } : {}),
    },
  });
  return {
    recipeId,
    recipe,
    evaluations,
    outputs,
    recipeFiles: written?.recipeFiles ?? [],
    ...(warnings.length ? { warnings } : {}),
  };
}
