import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import type { Precision } from './accumulator.js';
import type { OpenedFamily } from './open-family.js';
import { openFamily } from './open-family.js';
import type { RecipeBody } from './recipe.js';
import { greedyAdditions, readRecipe, recipeEma } from './recipe.js';
import type { SimilarityMatrix } from './similarity.js';
import { similarityMatrix } from './similarity.js';
import type { SoupPart, WrittenOutput } from './soup.js';
import { averageIngredients, writeSoup } from './soup.js';

export interface EngineContext {
  db?: Database | null;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void;
}

/** The outputs a replay wrote, with the recipe it replayed. */
export interface CookOutcome {
  recipe: RecipeBody;
  outputs: WrittenOutput[];
  recipeFiles: string[];
  warnings: string[];
}

async function cookParts(
  recipe: RecipeBody,
  parts: SoupPart[],
  opened: OpenedFamily,
  request: { outputs: readonly string[]; dtype?: FloatDType; precision?: Precision },
  ctx: EngineContext,
): Promise<CookOutcome> {
  const total = parts.length + 1;
  const { weights, scale } = await averageIngredients(opened.family, parts, {
    ...(request.precision ? { precision: request.precision } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onProgress: (done) => ctx.progress?.(Math.floor(done), total, `averaging ${parts.length} checkpoints`),
  });
  ctx.progress?.(parts.length, total, 'writing');
  const written = await writeSoup({
    family: opened.family,
    weights,
    scale,
    outputs: request.outputs,
    ...(request.dtype ? { dtype: request.dtype } : {}),
    recipe,
  });
  ctx.progress?.(total, total, 'done');
  return {
    recipe,
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
    { db: ctx.db ?? null, ...(options.graph ? { graph: options.graph } : {}), ...recipeEma(recipe) },
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
  // a greedy soup is replayed as it was summed: its additions in order (with replacement, repeats), each 1/n
  const additions =
    recipe.method === 'greedy'
      ? greedyAdditions(
          recipe.steps,
          parts.map((p) => p.ingredient),
        )
      : null;
  const summed = additions
    ? additions.map((ingredient) => ({ ingredient, coefficient: 1 / additions.length }))
    : parts;
  const outputs = options.outputs?.length ? options.outputs : recipe.outputs.map((o) => o.path);
  if (outputs.length === 0)
    throw new TureenError('bad_request', `${recipeFile} records no outputs; give --out`);
  const dtype = typeof recipe.params.dtype === 'string' ? (recipe.params.dtype as FloatDType) : undefined;
  const precision = recipe.params.precision === 'f64' ? 'f64' : undefined;
  const { schema: _schema, tool: _tool, created: _created, outputs: _outputs, ...body } = recipe;
  const outcome = await cookParts(
    body as RecipeBody,
    summed,
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
