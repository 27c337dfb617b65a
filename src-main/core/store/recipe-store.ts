import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { CookResult, RecipeSummary } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';

type Stored = Omit<z.output<typeof CookResult>, 'recipeId'>;

export function saveRecipe(
  db: Database,
  entry: {
    method: string;
    label: string;
    folder: string | null;
    weightsHash: string | null;
    document: Stored;
  },
): number {
  const info = db
    .prepare(
      'INSERT INTO recipes (method, label, folder, weights_hash, document, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    .run(
      entry.method,
      entry.label,
      entry.folder,
      entry.weightsHash,
      JSON.stringify(entry.document),
      new Date().toISOString(),
    );
  return Number(info.lastInsertRowid);
}

export function getRecipe(db: Database, id: number): z.output<typeof CookResult> {
  const row = db.prepare('SELECT id, document FROM recipes WHERE id = ?').get(id) as
    { id: number; document: string } | undefined;
  if (!row)
    throw new TureenError('not_found', `no recipe with id ${id}; list them with recipes:list`, { id });
  return { recipeId: row.id, ...(JSON.parse(row.document) as Stored) };
}

export function updateRecipeOutputs(db: Database, id: number, outputs: Stored['outputs']): void {
  const current = getRecipe(db, id);
  const { recipeId: _id, ...rest } = current;
  db.prepare('UPDATE recipes SET document = ? WHERE id = ?').run(
    JSON.stringify({ ...rest, outputs: [...rest.outputs, ...outputs] }),
    id,
  );
}

export function listRecipes(db: Database): Array<z.output<typeof RecipeSummary>> {
  const rows = db
    .prepare('SELECT id, method, label, folder, document, created_at FROM recipes ORDER BY id DESC')
    .all() as Array<{
    id: number;
    method: z.output<typeof RecipeSummary>['method'];
    label: string;
    folder: string | null;
    document: string;
    created_at: string;
  }>;
  return rows.map((r) => ({
    id: r.id,
    method: r.method,
    label: r.label,
    folder: r.folder,
    ingredients: (JSON.parse(r.document) as Stored).recipe.ingredients.length,
    createdAt: r.created_at,
  }));
}
