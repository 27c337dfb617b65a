import path from 'node:path';
import type { z } from 'zod';
import type { KitchenSummary } from '../../common/api/kitchens.js';
import { CompareTable, CookResult, RecipeSummary } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';
import type { ApiClient } from '../service.js';

/**
 * The report reads everything through the API contract (the same calls the UI makes, `ApiClient`), so it
 * depends on the evaluation engine's channels, not on its tables or services.
 */
export type Invoke = ApiClient['invoke'];

export type Compare = z.output<typeof CompareTable>;
export type Cooked = z.output<typeof CookResult>;
/** A registered folder (not the Kitchen service). */
export type RegisteredKitchen = z.output<typeof KitchenSummary>;

/** The newest stored comparison that covers the kitchen's folder, or null. */
export async function latestCompare(client: ApiClient, kitchen: RegisteredKitchen): Promise<Compare | null> {
  const table = await client.call('compare:table', { folder: kitchen.path });
  return table === null ? null : CompareTable.parse(table);
}

export async function getRecipe(client: ApiClient, id: number): Promise<Cooked> {
  return CookResult.parse(await client.call('recipes:get', { id }));
}

export async function listRecipes(client: ApiClient): Promise<Array<z.output<typeof RecipeSummary>>> {
  const { recipes } = await client.call('recipes:list', {});
  return recipes.map((r) => RecipeSummary.parse(r));
}

/** A registered kitchen by id (through the contract: the report never reads the kitchens table). */
export async function kitchenById(client: ApiClient, kitchenId: number): Promise<RegisteredKitchen> {
  const { kitchens } = await client.call('kitchens:list', {});
  const kitchen = kitchens.find((k) => k.id === kitchenId);
  if (!kitchen)
    throw new TureenError('not_found', `no kitchen with id ${kitchenId}; list them with \`tureen info\``);
  return kitchen;
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
