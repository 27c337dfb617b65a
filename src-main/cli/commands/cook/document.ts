import type { z } from 'zod';
import type { CookResult, Recipe } from '../../../common/api/recipes.js';
import type { CommandOutput } from '../../command.js';
import { evaluationJson, evaluationsText } from '../eval.js';

type Result = z.output<typeof CookResult>;

/** What every `tureen cook` answers, whatever the method (and a replay, with recipe_id null). */
export interface Cooked {
  recipeId: number | null;
  recipe: z.output<typeof Recipe>;
  evaluations: Result['evaluations'];
  outputs: Result['outputs'];
  recipeFiles: string[];
  warnings: string[];
}

export function cookedOf(result: Result): Cooked {
  return {
    recipeId: result.recipeId,
    recipe: result.recipe,
    evaluations: result.evaluations,
    outputs: result.outputs,
    recipeFiles: result.recipeFiles ?? [],
    warnings: result.warnings ?? [],
  };
}

/**
 * `tureen/cook@1`, one shape for every method and for replays: the stored recipe's id, the recipe (the
 * contract's union keyed by method), the soup's evaluations (empty when not evaluated), the outputs as
 * `{path, sha256, format, bytes, files}`, the recipe files written, and the warnings.
 */
export function cookJson(cooked: Cooked, extra: Record<string, unknown> = {}): CommandOutput['json'] {
  return {
    schema: 'tureen/cook@1',
    recipe_id: cooked.recipeId,
    recipe: cooked.recipe,
    evaluations: cooked.evaluations.map(evaluationJson),
    outputs: cooked.outputs,
    recipes: cooked.recipeFiles,
    warnings: cooked.warnings,
    ...extra,
  };
}

/** The human lines of a soup that was only averaged: its coefficients, the files and the warnings. */
export function averagedText(cooked: Cooked): string[] {
  return [
    `${cooked.recipe.method} soup of ${cooked.recipe.ingredients.length} checkpoint(s):`,
    ...cooked.recipe.ingredients.map((i) => `  ${i.coefficient.toPrecision(6).padStart(10)} × ${i.path}`),
    ...cooked.outputs.map(
      (o) => `wrote ${o.path} (${((o.bytes ?? 0) / 1e6).toFixed(1)} MB, sha256 ${o.sha256.slice(0, 12)}…)`,
    ),
    ...cooked.recipeFiles.map((f) => `recipe ${f}`),
    ...cooked.warnings.map((w) => `warning: ${w}`),
  ];
}

/** The human lines after an evaluated soup's own: its evaluations and the files written. */
export function evaluatedText(cooked: Cooked): string[] {
  return [
    '',
    evaluationsText(cooked.evaluations),
    ...cooked.outputs.map((o) => `wrote ${o.path} (sha256 ${o.sha256.slice(0, 12)}…)`),
  ];
}
