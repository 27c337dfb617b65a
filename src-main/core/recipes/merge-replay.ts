import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import type { EngineContext, ReplayOutcome } from '../checkpoints/cook.js';
import type { Ingredient } from '../checkpoints/index.js';
import type { RecipeBody } from '../checkpoints/recipe.js';
import { recipeEma } from '../checkpoints/recipe.js';
import { groupFamilies, openIngredient, readRecipe, weightLayout, writeSoup } from '../checkpoints/index.js';
import { mergeWeights } from './merge.js';
import { mergeMethod } from './methods/index.js';

/** Whether a recipe file was cooked by a merge method (task arithmetic, TIES, ...), which replays here. */
export function isMergeRecipe(file: string): boolean {
  return mergeMethod(readRecipe(file).method) !== undefined;
}

async function unchanged(ingredient: Ingredient, recorded: string, ctx: EngineContext): Promise<void> {
  const sha = await ingredient.sha256(ctx.signal);
  if (sha !== recorded) {
    throw new TureenError(
      'conflict',
      `${ingredient.path} changed since the recipe was cooked (sha256 ${sha.slice(0, 12)}… ≠ ${recorded.slice(0, 12)}…); refusing to replay`,
      { file: ingredient.path, expected: recorded, actual: sha },
    );
  }
}

/**
 * Cook a merge recipe again: the same method and params over the same ingredients (in the recipe's order,
 * which DARE's drop pattern and the weights follow) and the same base; refuses any changed file. The merge
 * is deterministic, so the outputs are bit-identical to the recorded ones.
 */
export async function replayMergeRecipe(
  recipeFile: string,
  options: { outputs?: readonly string[]; graph?: string },
  ctx: EngineContext = {},
): Promise<ReplayOutcome> {
  const recipe = readRecipe(recipeFile);
  const method = mergeMethod(recipe.method);
  if (!method) throw new TureenError('bad_request', `${recipeFile}: ${recipe.method} is not a merge method`);
  // every file is checked before the family is formed: a changed file may no longer join it (or may now
  // duplicate another), and the user should hear that it changed
  const graph = { ...(options.graph ? { graph: options.graph } : {}), ...recipeEma(recipe) };
  for (const entry of [...recipe.ingredients, ...(recipe.base ? [recipe.base] : [])]) {
    await unchanged(openIngredient(entry.path, { db: ctx.db ?? null, ...graph }), entry.sha256, ctx);
  }
  // exactly the recipe's files, in its order (not a folder walk): ingredient i of the recipe is ingredient i
  // of the merge, which DARE's drop pattern and the weights follow
  const models = recipe.ingredients.map((e) =>
    openIngredient(e.path, { db: ctx.db ?? null, ...graph, base: false }),
  );
  const base = recipe.base
    ? openIngredient(recipe.base.path, { db: ctx.db ?? null, ...graph, base: true })
    : null;
  const report = await groupFamilies([...models, ...(base ? [base] : [])], {
    base: recipe.base?.path ?? null,
  });
  if (report.families.length !== 1) {
    throw new TureenError(
      'family_mismatch',
      `${recipeFile}: its checkpoints no longer form one family:\n${report.mismatches.map((m) => m.message).join('\n')}`,
      { mismatches: report.mismatches },
    );
  }
  const family = report.families[0]!;
  const outputs = options.outputs?.length ? options.outputs : recipe.outputs.map((o) => o.path);
  if (outputs.length === 0)
    throw new TureenError('bad_request', `${recipeFile} records no outputs; give --out`);
  ctx.progress?.(0, 2, `${method.title}: merging ${models.length} checkpoints`);
  const precision = recipe.params.precision === 'f64' ? 'f64' : 'f32';
  const merged = await mergeWeights(method, recipe.params, { base, models }, weightLayout(family.tensors), {
    precision,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  ctx.progress?.(1, 2, 'writing');
  const { schema: _schema, tool: _tool, created: _created, outputs: _outputs, ...recorded } = recipe;
  const body = {
    ...recorded,
    ingredients: recipe.ingredients.map((entry, i) => ({ ...entry, bytes: models[i]!.bytes })),
  } as RecipeBody;
  const written = await writeSoup({ family, weights: merged.weights, outputs, recipe: body });
  ctx.progress?.(2, 2, 'done');
  const reproduced = written.outputs.map((o) => {
    const recorded = recipe.outputs.find((r) => path.resolve(r.path) === o.path)?.sha256 ?? null;
    return {
      path: o.path,
      sha256: o.sha256,
      recorded,
      same: recorded === null ? null : recorded === o.sha256,
    };
  });
  return {
    recipe: body,
    outputs: written.outputs,
    recipeFiles: written.recipeFiles,
    warnings: [...family.warnings.map((w) => w.message), ...merged.report.warnings],
    reproduced,
  };
}
