/** Turns the API's cook results into what the recipe card and the greedy steps show. */
import type { z } from 'zod';
import type { MethodDescription } from '../../src-main/common/api/recipes.js';
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
  'task-arithmetic': 'Task arithmetic',
  ties: 'TIES merging',
  dare: 'DARE',
  slerp: 'SLERP',
  'model-stock': 'Model Stock',
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

/** A merge method of the registry, as `recipes:methods` describes it (forms are built from this). */
export type MethodInfo = z.output<typeof MethodDescription>;
export type MethodParam = MethodInfo['params'][number];

/** The values a param form starts from: each param's default (lists start empty: the method's default). */
export function defaultParamValues(method: MethodInfo): Record<string, number | boolean | string> {
  const values: Record<string, number | boolean | string> = {};
  for (const p of method.params) {
    values[p.name] =
      p.kind === 'numbers'
        ? ''
        : (p.default ?? (p.kind === 'boolean' ? false : p.kind === 'choice' ? (p.choices?.[0] ?? '') : 0));
  }
  return values;
}

/**
 * The boolean param another one only applies with, if any: the registry describes such a param as
 * "with --<flag>: …" (greedy's passes count only with --with-replacement). Null when it always applies.
 */
export function paramGate(method: MethodInfo, p: MethodParam): string | null {
  const flag = /^with --([a-z0-9-]+)\b/.exec(p.description)?.[1];
  if (!flag) return null;
  return method.params.some((q) => q.name === flag && q.kind === 'boolean') ? flag : null;
}

/** Whether a param applies with the form's values (a gated one only when its flag is on). */
export function paramApplies(
  method: MethodInfo,
  p: MethodParam,
  values: Record<string, number | boolean | string>,
): boolean {
  const gate = paramGate(method, p);
  return gate === null || values[gate] === true;
}

/**
 * A registry text (method summary, param description) in the form's words: the registry writes params as
 * CLI flags ("--density"), and the form labels them by name (density); a gated param's "with --flag: "
 * prefix goes, since the field only shows with that flag on.
 */
export function formText(text: string): string {
  return text.replace(/^with --[a-z0-9-]+:\s*/, '').replace(/(^|[\s(])--([a-z][a-z0-9-]*)/g, '$1$2');
}

/** Why a param's value is out of its range (null when it is fine), in the words of the form. */
export function paramProblem(p: MethodParam, value: number | boolean | string): string | null {
  if (p.kind === 'boolean') return null;
  if (p.kind === 'choice')
    return p.choices?.includes(String(value)) ? null : `${p.name}: one of ${p.choices?.join(', ')}`;
  if (p.kind === 'numbers') {
    if (typeof value !== 'string' || value.trim() === '') return null;
    return value.split(',').every((v) => v.trim() !== '' && Number.isFinite(Number(v)))
      ? null
      : `${p.name}: comma-separated numbers`;
  }
  const v = Number(value);
  if (!Number.isFinite(v) || (p.kind === 'integer' && !Number.isInteger(v)))
    return `${p.name}: ${p.kind === 'integer' ? 'a whole number' : 'a number'}`;
  const low = p.minimum;
  const high = p.maximum;
  const tooLow = low !== undefined && (p.exclusiveMinimum ? v <= low : v < low);
  const tooHigh = high !== undefined && (p.exclusiveMaximum ? v >= high : v > high);
  if (tooLow || tooHigh) {
    const l = low === undefined ? '' : `${low} ${p.exclusiveMinimum ? '<' : '≤'} `;
    const h = high === undefined ? '' : ` ${p.exclusiveMaximum ? '<' : '≤'} ${high}`;
    return `${p.name} must be ${l}${p.name}${h}`;
  }
  return null;
}

/** The params a request sends: numbers as numbers, lists split, empty lists left to the method's default. */
export function paramsForRequest(
  method: MethodInfo,
  values: Record<string, number | boolean | string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of method.params) {
    const v = values[p.name];
    if (v === undefined || !paramApplies(method, p, values)) continue;
    if (p.kind === 'boolean') out[p.name] = v === true;
    else if (p.kind === 'choice') out[p.name] = String(v);
    else if (p.kind === 'numbers') {
      if (typeof v === 'string' && v.trim() !== '') out[p.name] = v.split(',').map((x) => Number(x.trim()));
    } else out[p.name] = Number(v);
  }
  return out;
}
