import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import { packageVersion } from '../paths.js';
import type { StagedFiles } from './atomic.js';
import { stageFiles, writeAll } from './atomic.js';

export const RECIPE_SCHEMA = 'tureen/recipe@1';

export interface RecipeIngredient {
  path: string;
  bytes: number;
  sha256: string;
  coefficient: number;
}

/** `<out>.recipe.json` (DESIGN.md, Formats): enough to replay the soup and to check its ingredients. */
export interface RecipeDocument {
  schema: typeof RECIPE_SCHEMA;
  tool: { name: 'tureen'; version: string };
  created: string;
  method: string;
  /** method-specific parameters (alpha, dtype, precision, greedy rule, optimiser settings, ...) */
  params: Record<string, unknown>;
  ingredients: RecipeIngredient[];
  /** merge methods (task arithmetic, TIES, ...): the base the task vectors are taken against; replay
   *  refuses it changed like any ingredient. For these methods an ingredient's coefficient is its weight wᵢ
   *  in the method, not a coefficient of a linear combination. */
  base?: { path: string; bytes: number; sha256: string };
  /** greedy/learned soups: the held-out set and the steps or loss curve that chose the coefficients */
  selection?: Record<string, unknown>;
  outputs: Array<{ path: string; sha256: string }>;
}

export function recipePathFor(output: string): string {
  return `${output}.recipe.json`;
}

export function makeRecipe(
  fields: Pick<RecipeDocument, 'method' | 'params' | 'ingredients'> & {
    base?: RecipeDocument['base'] | undefined;
    selection?: Record<string, unknown> | undefined;
  },
  outputs: RecipeDocument['outputs'],
): RecipeDocument {
  const doc: RecipeDocument = {
    schema: RECIPE_SCHEMA,
    tool: { name: 'tureen', version: packageVersion() },
    created: new Date().toISOString(),
    method: fields.method,
    params: fields.params,
    ingredients: fields.ingredients,
    ...(fields.base ? { base: fields.base } : {}),
    outputs,
  };
  if (fields.selection !== undefined) doc.selection = fields.selection;
  return doc;
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

/** Read and check a recipe file; relative ingredient paths are taken from the recipe's folder. */
export function readRecipe(file: string): RecipeDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as { code?: string }).code === 'ENOENT' ? 'not_found' : 'bad_request';
    throw new TureenError(code, `${file}: cannot read the recipe (${(error as Error).message})`, { file });
  }
  const d = doc as Partial<RecipeDocument> | null;
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
  const ingredients = d.ingredients.map((ing, i) => {
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
  const base = d.base;
  if (base !== undefined && (typeof base?.path !== 'string' || typeof base.sha256 !== 'string')) {
    throw new TureenError('bad_request', `${file}: base needs path and sha256`, { file, field: 'base' });
  }
  return {
    ...(d as RecipeDocument),
    params: typeof d.params === 'object' && d.params !== null ? d.params : {},
    ...(base ? { base: { ...base, path: path.resolve(dir, base.path) } } : {}),
    ingredients,
    outputs: Array.isArray(d.outputs) ? d.outputs : [],
  };
}
