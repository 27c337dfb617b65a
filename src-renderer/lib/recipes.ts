/** Turns the API's cook results into what the recipe card and the greedy steps show. */
import type { CookResult, GreedyStep } from './domain.js';
import { displayName } from './checkpoints.js';
import { checkpointName } from './paths.js';

export interface RecipeIngredient {
  name: string;
  path: string;
  coefficient: number;
  sha256: string | null;
}
export interface RecipeView {
  id: string;
  method: string;
  title: string;
  params: Record<string, unknown>;
  ingredients: RecipeIngredient[];
  holdout: { name: string; sha256: string | null } | null;
  provider: string | null;
  created: string | null;
  /** held-out (or other) scores of the soup, fractions by eval-set name */
  scores: Record<string, number | null>;
}

export interface GreedyStepRow {
  step: number;
  candidate: string;
  /** held-out top-1 of the soup with the candidate added (fraction) */
  holdoutTop1: number | null;
  accepted: boolean;
  /** soup size after this step */
  size: number | null;
}

export const METHOD_TITLES: Record<string, string> = {
  uniform: 'Uniform soup',
  greedy: 'Greedy soup',
  learned: 'Learned soup',
  interpolate: 'Interpolation (WiSE-FT)',
};

/** The recipe's steps; candidates are paths relative to the kitchen folder. */
export function greedyRows(steps: readonly GreedyStep[]): GreedyStepRow[] {
  return steps.map((s) => ({
    step: s.step,
    candidate: displayName(s.candidate),
    holdoutTop1: s.holdout_top1,
    accepted: s.accepted,
    size: s.size,
  }));
}

export function recipeView(result: CookResult, roots: readonly string[], created: string | null): RecipeView {
  const { recipe } = result;
  const params: Record<string, unknown> = { ...recipe.params };
  if (recipe.optimiser) params.optimiser = recipe.optimiser;
  if (recipe.budget !== undefined) params.budget = recipe.budget;
  if (recipe.logit_scale !== undefined) params['logit scale'] = recipe.logit_scale;
  const scores: Record<string, number | null> = {};
  for (const e of result.evaluations) scores[e.evalset.name] = e.top1;
  return {
    id: String(result.recipeId),
    method: recipe.method,
    title: METHOD_TITLES[recipe.method] ?? recipe.method,
    params,
    ingredients: recipe.ingredients.map((i) => ({
      name: checkpointName(i.path, roots),
      path: i.path,
      coefficient: i.coefficient,
      sha256: i.sha256,
    })),
    holdout: recipe.holdout,
    provider: result.evaluations[0]?.provider ?? null,
    created,
    scores,
  };
}
