import path from 'node:path';
import type { z } from 'zod';
import type { Recipe, RecipeIngredient as RecipeIngredientSchema } from '../../common/api/recipes.js';
import { RECIPE_FILE_SCHEMA, RecipeFile } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';
import { packageVersion } from '../paths.js';
import type { StagedFiles } from './atomic.js';
import { stageFiles, writeAll } from './atomic.js';
import { readRegularFile } from './read-range.js';

/** a recipe is a few KB; a learned soup over hundreds of ingredients a few hundred */
const RECIPE_LIMIT = { bytes: 64 * 2 ** 20, what: 'a recipe file' };

export const RECIPE_SCHEMA = RECIPE_FILE_SCHEMA;

export type RecipeIngredient = z.output<typeof RecipeIngredientSchema>;
/** A recipe to write (one variant per method; common/api/recipes.ts; holdout and weights_sha256 may be left out). */
export type RecipeBody = z.input<typeof Recipe>;
/** `<out>.recipe.json` (DESIGN.md, Formats) as written: the recipe with schema, tool, time and the outputs' hashes. */
export type RecipeDocument = z.input<typeof RecipeFile>;
/** A recipe file as read: checked, defaults filled in, paths absolute. */
export type RecipeFileRead = z.output<typeof RecipeFile>;

export function recipePathFor(output: string): string {
  return `${output}.recipe.json`;
}

export function makeRecipe(body: RecipeBody, outputs: RecipeDocument['outputs']): RecipeDocument {
  return {
    schema: RECIPE_SCHEMA,
    tool: { name: 'tureen', version: packageVersion() },
    created: new Date().toISOString(),
    ...body,
    outputs,
  };
}

/** The recipe beside every output, written under temporary names; commit() puts them in place. */
export function stageRecipes(doc: RecipeDocument): StagedFiles {
  const text = Buffer.from(JSON.stringify(doc, null, 2) + '\n', 'utf8');
  return stageFiles(
    doc.outputs.map((o) => ({ path: recipePathFor(o.path), write: (fd) => writeAll(fd, text) })),
  );
}

/** Write the recipe beside every output, atomically (all recipe files appear or none does). */
export function writeRecipes(doc: RecipeDocument): string[] {
  const staged = stageRecipes(doc);
  staged.commit();
  return staged.files.map((f) => f.target);
}

/**
 * A greedy soup's additions in the order they were accepted (with replacement an ingredient comes back),
 * from its steps (candidates are paths relative to the folder it was cooked from); null when a step names
 * no ingredient of the list. Rebuilding the sum in this order gives the floats that were evaluated.
 */
export function greedyAdditions<T extends { path: string }>(
  steps: ReadonlyArray<{ candidate: string; accepted: boolean }>,
  ingredients: readonly T[],
): T[] | null {
  const found = steps
    .filter((s) => s.accepted)
    .map((s) => ingredients.find((i) => i.path.split(path.sep).join('/').endsWith(`/${s.candidate}`)));
  return found.length > 0 && found.every((f) => f !== undefined) ? (found as T[]) : null;
}

type Loose = Record<string, unknown>;

/**
 * Recipe files written before the recipe schema was one zod union kept what chose the soup under
 * `selection` (holdout, greedy steps, learned loss curve, merge report, search) and may lack `holdout` and
 * `weights_sha256`: lift them to where the schema has them, so those files (and hand-written ones) still
 * replay.
 */
function lifted(d: Loose): Loose {
  const selection = (typeof d.selection === 'object' && d.selection !== null ? d.selection : {}) as Loose;
  const { selection: _selection, ...rest } = d;
  const doc: Loose = { ...selection, ...rest };
  // hand-written recipes may leave out who wrote them and when
  doc.tool ??= { name: 'tureen', version: 'unknown' };
  doc.created ??= '';
  doc.holdout ??= null;
  doc.weights_sha256 ??= null;
  doc.params = typeof d.params === 'object' && d.params !== null ? d.params : {};
  doc.outputs = Array.isArray(d.outputs) ? d.outputs : [];
  const ingredients = d.ingredients as Array<{ coefficient: number }>;
  if (doc.method === 'learned') doc.coefficients ??= ingredients.map((i) => i.coefficient);
  if (doc.method === 'greedy') doc.steps ??= [];
  if (
    typeof doc.method === 'string' &&
    !['uniform', 'greedy', 'learned', 'interpolate'].includes(doc.method)
  ) {
    doc.base ??= null;
    doc.merge ??= {};
  }
  return doc;
}

/**
 * The `ema` option that reopens a recipe's checkpoints as they were cooked. A cook uses EMA weights
 * everywhere (--ema), wherever a checkpoint has them (the kitchen's setting) or nowhere, so 'prefer' when
 * any ingredient used them reproduces every case.
 */
export function recipeEma(recipe: { ingredients: ReadonlyArray<{ ema?: boolean | undefined }> }): {
  ema?: 'prefer';
} {
  return recipe.ingredients.some((i) => i.ema) ? { ema: 'prefer' } : {};
}

/** Read and check a recipe file; relative ingredient paths are taken from the recipe's folder. */
export function readRecipe(file: string): RecipeFileRead {
  let doc: unknown;
  try {
    // a FIFO or a device named like a recipe is refused, never waited on
    doc = JSON.parse(readRegularFile(file, 'bad_request', RECIPE_LIMIT).toString('utf8'));
  } catch (error) {
    if (error instanceof TureenError) throw error;
    const code = (error as { code?: string }).code === 'ENOENT' ? 'not_found' : 'bad_request';
    throw new TureenError(code, `${file}: cannot read the recipe (${(error as Error).message})`, { file });
  }
  const d = doc as Partial<RecipeFileRead> | null;
  if (!d || d.schema !== RECIPE_SCHEMA) {
    throw new TureenError(
      'bad_request',
      `${file}: not a Tureen recipe (expected "schema": "${RECIPE_SCHEMA}")`,
      { file },
    );
  }
  if (!Array.isArray(d.ingredients) || d.ingredients.length === 0) {
    throw new TureenError('bad_request', `${file}: the recipe lists no ingredients`, { file });
  }
  const dir = path.dirname(path.resolve(file));
  const ingredients = d.ingredients.map((ing: Partial<RecipeIngredient> | null, i) => {
    if (
      typeof ing?.path !== 'string' ||
      typeof ing.sha256 !== 'string' ||
      typeof ing.coefficient !== 'number'
    ) {
      throw new TureenError('bad_request', `${file}: ingredients[${i}] needs path, sha256 and coefficient`, {
        file,
      });
    }
    return { ...ing, path: path.resolve(dir, ing.path) };
  });
  const base = d.base as { path?: unknown; sha256?: unknown } | null | undefined;
  if (
    base !== undefined &&
    base !== null &&
    (typeof base.path !== 'string' || typeof base.sha256 !== 'string')
  ) {
    throw new TureenError('bad_request', `${file}: base needs path and sha256`, { file, field: 'base' });
  }
  const parsed = RecipeFile.safeParse(lifted({ ...(d as Loose), ingredients }));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(recipe)';
    throw new TureenError('bad_request', `${file}: ${field}: ${issue.message}`, { file, field });
  }
  const recipe = parsed.data;
  return recipe.base
    ? ({ ...recipe, base: { ...recipe.base, path: path.resolve(dir, recipe.base.path) } } as RecipeFileRead)
    : recipe;
}
