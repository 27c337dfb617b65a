import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import type { Precision } from './accumulator.js';
import type { Ingredient } from './ingredient.js';
import type { OpenedFamily } from './open-family.js';
import { openFamily } from './open-family.js';
import type { RecipeDocument } from './recipe.js';
import { readRecipe } from './recipe.js';
import type { SimilarityMatrix } from './similarity.js';
import { similarityMatrix } from './similarity.js';
import type { SoupPart, WrittenOutput } from './soup.js';
import { averageIngredients, recipeIngredients, writeSoup } from './soup.js';

export interface EngineContext {
  db?: Database | null;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void;
}

export interface CookRequest {
  method: 'uniform' | 'interpolate' | 'weighted';
  ingredients: readonly string[];
  outputs: readonly string[];
  alpha?: number;
  coefficients?: readonly number[];
  graph?: string;
  dtype?: FloatDType;
  precision?: Precision;
  externalData?: boolean;
}

export interface CookOutcome {
  recipe: { method: string; params: Record<string, unknown>; ingredients: RecipeDocument['ingredients'] };
  outputs: WrittenOutput[];
  recipeFiles: string[];
  warnings: string[];
}

function coefficientsFor(
  request: CookRequest,
  members: readonly Ingredient[],
): { parts: SoupPart[]; params: Record<string, unknown> } {
  if (request.method === 'uniform') {
    return {
      parts: members.map((ingredient) => ({ ingredient, coefficient: 1 / members.length })),
      params: {},
    };
  }
  if (request.method === 'interpolate') {
    if (members.length !== 2) {
      throw new TureenError(
        'bad_request',
        `interpolate needs exactly two checkpoints A and B, got ${members.length}`,
      );
    }
    const alpha = request.alpha;
    if (alpha === undefined || !Number.isFinite(alpha))
      throw new TureenError('bad_request', 'interpolate needs --alpha (θ = (1 − α)·A + α·B)');
    return {
      parts: [
        { ingredient: members[0]!, coefficient: 1 - alpha },
        { ingredient: members[1]!, coefficient: alpha },
      ],
      params: { alpha, a: members[0]!.path, b: members[1]!.path },
    };
  }
  const coefficients = request.coefficients ?? [];
  if (coefficients.length !== members.length) {
    throw new TureenError(
      'bad_request',
      `${coefficients.length} coefficients for ${members.length} checkpoints`,
    );
  }
  return {
    parts: members.map((ingredient, i) => ({ ingredient, coefficient: coefficients[i]! })),
    params: {},
  };
}

/** Average checkpoints with the request's coefficients and write the soup with its recipe. */
export async function cookWeights(request: CookRequest, ctx: EngineContext = {}): Promise<CookOutcome> {
  const opened = await openFamily(request.ingredients, {
    db: ctx.db ?? null,
    ...(request.graph ? { graph: request.graph } : {}),
  });
  const explicit = request.method === 'interpolate' ? request.ingredients.map((f) => path.resolve(f)) : null;
  const members = explicit
    ? explicit.map((f) => {
        const found = opened.members.find((m) => m.path === f);
        if (!found)
          throw new TureenError(
            'bad_request',
            `interpolate: ${f} is the same checkpoint (same weights) as the other one`,
            { file: f },
          );
        return found;
      })
    : opened.members;
  const { parts, params } = coefficientsFor(request, members);
  return cookParts(request.method, parts, { ...params, ...paramsOf(request) }, opened, request, ctx);
}

function paramsOf(request: Pick<CookRequest, 'dtype' | 'precision'>): Record<string, unknown> {
  return { precision: request.precision ?? 'f32', ...(request.dtype ? { dtype: request.dtype } : {}) };
}

async function cookParts(
  method: string,
  parts: SoupPart[],
  params: Record<string, unknown>,
  opened: OpenedFamily,
  request: Pick<CookRequest, 'outputs' | 'dtype' | 'precision' | 'externalData'>,
  ctx: EngineContext,
): Promise<CookOutcome> {
  const total = parts.length + 1;
  const { weights, scale } = await averageIngredients(opened.family, parts, {
    ...(request.precision ? { precision: request.precision } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onProgress: (done) => ctx.progress?.(Math.floor(done), total, `averaging ${parts.length} checkpoints`),
  });
  ctx.progress?.(parts.length, total, 'hashing ingredients');
  const ingredients = await recipeIngredients(parts, ctx.signal);
  ctx.progress?.(parts.length, total, 'writing');
  const written = await writeSoup({
    family: opened.family,
    weights,
    scale,
    outputs: request.outputs,
    ...(request.dtype ? { dtype: request.dtype } : {}),
    ...(request.externalData ? { externalData: true } : {}),
    recipe: { method, params, ingredients },
  });
  ctx.progress?.(total, total, 'done');
  return {
    recipe: { method, params, ingredients },
    outputs: written.outputs,
    recipeFiles: written.recipeFiles,
    warnings: opened.warnings,
  };
}

export interface ReplayOutcome extends CookOutcome {
  /** per output: whether its sha256 equals the one the recipe recorded (null when it recorded none) */
  reproduced: Array<{ path: string; sha256: string; recorded: string | null; same: boolean | null }>;
}

/**
 * Cook a recipe file again with its coefficients; refuses when an ingredient's sha256 changed. Outputs
 * default to the recipe's own outputs. Any method (uniform, greedy, learned, interpolate) replays, since
 * the recipe records the per-ingredient coefficients it chose.
 */
export async function replayRecipe(
  recipeFile: string,
  options: { outputs?: readonly string[]; graph?: string },
  ctx: EngineContext = {},
): Promise<ReplayOutcome> {
  const recipe = readRecipe(recipeFile);
  const opened = await openFamily(
    recipe.ingredients.map((i) => i.path),
    { db: ctx.db ?? null, ...(options.graph ? { graph: options.graph } : {}) },
  );
  const all = [...opened.members, ...(opened.family.base ? [opened.family.base] : [])];
  const parts: SoupPart[] = [];
  for (const ing of recipe.ingredients) {
    const ingredient = all.find((m) => m.path === ing.path);
    if (!ingredient)
      throw new TureenError('not_found', `${recipeFile}: ingredient ${ing.path} is missing`, {
        file: ing.path,
      });
    const sha = await ingredient.sha256(ctx.signal);
    if (sha !== ing.sha256) {
      throw new TureenError(
        'conflict',
        `${ing.path} changed since the recipe was cooked (sha256 ${sha.slice(0, 12)}… ≠ ${ing.sha256.slice(0, 12)}…); refusing to replay`,
        { file: ing.path, expected: ing.sha256, actual: sha },
      );
    }
    parts.push({ ingredient, coefficient: ing.coefficient });
  }
  const outputs = options.outputs?.length ? options.outputs : recipe.outputs.map((o) => o.path);
  if (outputs.length === 0)
    throw new TureenError('bad_request', `${recipeFile} records no outputs; give --out`);
  const dtype = typeof recipe.params.dtype === 'string' ? (recipe.params.dtype as FloatDType) : undefined;
  const precision = recipe.params.precision === 'f64' ? 'f64' : undefined;
  const outcome = await cookParts(
    recipe.method,
    parts,
    recipe.params,
    opened,
    { outputs, ...(dtype ? { dtype } : {}), ...(precision ? { precision } : {}) },
    ctx,
  );
  const reproduced = outcome.outputs.map((o) => {
    const recorded = recipe.outputs.find((r) => path.resolve(r.path) === o.path)?.sha256 ?? null;
    return {
      path: o.path,
      sha256: o.sha256,
      recorded,
      same: recorded === null ? null : recorded === o.sha256,
    };
  });
  return { ...outcome, reproduced };
}

/** Similarity of the given checkpoints' task vectors against `base` (or of their weights without one). */
export async function similarityOf(
  inputs: readonly string[],
  options: { base?: string; graph?: string; family?: string; ema?: boolean | 'prefer' },
  ctx: EngineContext = {},
): Promise<SimilarityMatrix & { warnings: string[] }> {
  const opened = await openFamily(inputs, {
    db: ctx.db ?? null,
    ...(options.family !== undefined ? { family: options.family } : {}),
    ...(options.ema ? { ema: options.ema } : {}),
    ...(options.graph ? { graph: options.graph } : {}),
    ...(options.base ? { base: options.base } : {}),
  });
  const matrix = await similarityMatrix(opened.members, options.base ? opened.base : null, {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onProgress: (done, total) => ctx.progress?.(done, total, 'comparing weights'),
  });
  return { ...matrix, warnings: opened.warnings };
}
