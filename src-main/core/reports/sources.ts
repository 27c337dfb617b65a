import path from 'node:path';
import type { z } from 'zod';
import { JobStarted } from '../../common/api/evaluations.js';
import type { KitchenSummary } from '../../common/api/kitchens.js';
import { CompareTable, CookResult, RecipeSummary } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';
import type { JobRunner } from '../jobs.js';

/**
 * The report reads everything through the API contract (the same calls the UI makes), so it depends on the
 * evaluation engine's channels, not on its tables.
 */
export type Invoke = (channel: string, payload: unknown) => Promise<unknown>;

export type Compare = z.output<typeof CompareTable>;
export type Cooked = z.output<typeof CookResult>;
export type Kitchen = z.output<typeof KitchenSummary>;

/** The newest stored comparison that covers the kitchen's folder, or null. */
export async function latestCompare(invoke: Invoke, kitchen: Kitchen): Promise<Compare | null> {
  const table = await invoke('compare:table', { folder: kitchen.path });
  return table === null ? null : CompareTable.parse(table);
}

export async function getRecipe(invoke: Invoke, id: number): Promise<Cooked> {
  return CookResult.parse(await invoke('recipes:get', { id }));
}

export async function listRecipes(invoke: Invoke): Promise<Array<z.output<typeof RecipeSummary>>> {
  const { recipes } = (await invoke('recipes:list', {})) as { recipes: unknown[] };
  return recipes.map((r) => RecipeSummary.parse(r));
}

/** Start a job through the contract and wait for its result. */
export async function runJob(
  invoke: Invoke,
  jobs: JobRunner,
  channel: string,
  request: unknown,
): Promise<unknown> {
  const { jobId } = JobStarted.parse(await invoke(channel, request));
  const summary = await jobs.wait(jobId);
  if (summary.state === 'done') return summary.result;
  const error = summary.error ?? { code: 'cancelled', message: `${channel}: cancelled` };
  throw new TureenError(error.code as TureenError['code'], error.message, error.detail);
}

/**
 * The greedy soup's accepted ingredients in acceptance order, as paths of the recipe. Steps name their
 * candidate by path (absolute or relative to the folder) or by label; match on either.
 */
export function acceptedInOrder(cooked: Cooked): string[] {
  const paths = cooked.recipe.ingredients.map((i) => i.path);
  const steps = cooked.recipe.steps ?? [];
  const resolve = (candidate: string) =>
    paths.find((p) => p === candidate) ??
    paths.find((p) => p.endsWith(`/${candidate}`) || p.endsWith(`\\${candidate}`)) ??
    paths.find((p) => path.basename(p, path.extname(p)) === candidate || path.basename(p) === candidate) ??
    null;
  const ordered = steps.filter((s) => s.accepted).map((s) => resolve(s.candidate));
  if (ordered.length === paths.length && ordered.every((p): p is string => p !== null)) return ordered;
  return paths;
}

/** Top-1 per eval-set name from a cook result's evaluations. */
export function top1ByName(cooked: Cooked): Record<string, number | null> {
  return Object.fromEntries(cooked.evaluations.map((e) => [e.evalset.name, e.top1]));
}
