import path from 'node:path';
import type { z } from 'zod';
import { CheckpointSummary } from '../../common/api/checkpoints.js';
import type { GreedyPrefix, ReportData, ReportIngredient, SimilarityData } from '../../common/api/reports.js';
import type { ApiClient, ServiceContext } from '../service.js';
import type { SimilarityInputs } from './similarity-store.js';
import { loadSimilarity } from './similarity-store.js';
import type { Compare, Cooked, RegisteredKitchen } from './sources.js';
import { isWithin } from '../within.js';
import {
  acceptedInOrder,
  getRecipe,
  kitchenById,
  latestCompare,
  listRecipes,
  top1ByName,
} from './sources.js';

type Report = z.output<typeof ReportData>;

/** A checkpoint as the report names it: relative to the kitchen folder when inside it. */
const checkpointLabel = (kitchen: RegisteredKitchen, file: string) =>
  isWithin(kitchen.path, file) ? path.relative(kitchen.path, path.resolve(file)) : path.basename(file);

const samePaths = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** Stored recipes of a method cooked from the kitchen's folder (or below it), newest first. */
export async function recipesOf(client: ApiClient, kitchen: RegisteredKitchen, method: string) {
  const all = await listRecipes(client);
  return all.filter((r) => r.method === method && (r.folder === null || isWithin(kitchen.path, r.folder)));
}

/** A stored uniform soup of exactly these ingredient paths, if one was cooked. */
async function findUniformOf(
  client: ApiClient,
  kitchen: RegisteredKitchen,
  paths: readonly string[],
): Promise<Cooked | null> {
  for (const summary of await recipesOf(client, kitchen, 'uniform')) {
    if (summary.ingredients !== paths.length) continue;
    const cooked = await getRecipe(client, summary.id);
    if (
      samePaths(
        cooked.recipe.ingredients.map((i) => i.path),
        paths,
      )
    )
      return cooked;
  }
  return null;
}

/**
 * Test accuracy of the greedy soup after 1, 2, … accepted ingredients: the first is the best single
 * model, the last the greedy soup, the ones between stored uniform soups of the prefix (cooked by
 * `reports:prepare`).
 */
export async function greedyPrefixes(
  client: ApiClient,
  kitchen: RegisteredKitchen,
  compare: Compare,
  greedy: Cooked,
): Promise<{ prefixes: Array<z.output<typeof GreedyPrefix>>; lacking: string[][] }> {
  const accepted = acceptedInOrder(greedy);
  const prefixes: Array<z.output<typeof GreedyPrefix>> = [];
  const lacking: string[][] = [];
  const folder = compare.folders[0] ?? kitchen.path;
  for (let k = 1; k <= accepted.length; k++) {
    const prefix = accepted.slice(0, k);
    // The first prefix is an ingredient and the last the greedy soup: both are rows of the comparison.
    const row =
      k === accepted.length
        ? compare.rows.find((r) => r.kind === 'greedy_soup')
        : k === 1
          ? compare.rows.find(
              (r) =>
                r.kind === 'ingredient' &&
                path.resolve(folder, r.ingredients[0] ?? '') === path.resolve(prefix[0]!),
            )
          : undefined;
    if (row) {
      prefixes.push({
        models: k,
        recipeId: k === accepted.length ? greedy.recipeId : null,
        top1: Object.fromEntries(Object.entries(row.metrics).map(([name, m]) => [name, m?.top1 ?? null])),
      });
      continue;
    }
    const cooked = await findUniformOf(client, kitchen, prefix);
    if (cooked) prefixes.push({ models: k, recipeId: cooked.recipeId, top1: top1ByName(cooked) });
    else lacking.push(prefix);
  }
  return { prefixes, lacking };
}

/** Ingredient rows of the comparison with hashes and hyperparameters from the kitchen's last scan. */
export async function ingredientsOf(
  client: ApiClient,
  kitchen: RegisteredKitchen,
  compare: Compare,
): Promise<{ ingredients: Array<z.output<typeof ReportIngredient>>; base: string | null; scanned: boolean }> {
  const folder = compare.folders[0] ?? kitchen.path;
  const { checkpoints } = await client.call('checkpoints:list', { kitchenId: kitchen.id });
  const byPath = new Map(
    checkpoints.map((raw) => {
      const c = CheckpointSummary.parse(raw);
      return [path.resolve(c.path), c] as const;
    }),
  );
  let base: string | null = null;
  const ingredients = compare.rows
    .filter((r) => r.kind === 'ingredient' || r.kind === 'base')
    .map((r) => {
      const rel = r.ingredients[0] ?? r.label;
      const absolute = path.resolve(folder, rel);
      if (r.kind === 'base') base = absolute;
      const scanned = byPath.get(absolute);
      return {
        label: r.kind === 'base' ? `${r.label} (base)` : r.label,
        path: rel,
        absolutePath: absolute,
        isBase: r.kind === 'base',
        sha256: scanned?.sha256 ?? null,
        params: r.params,
        hyperparameters: scanned?.hyperparameters ?? {},
      };
    });
  return { ingredients, base, scanned: byPath.size > 0 };
}

/** What the similarity of a report's ingredients is keyed by. */
export function similarityInputs(
  ingredients: ReadonlyArray<z.output<typeof ReportIngredient>>,
): SimilarityInputs {
  const base = ingredients.find((i) => i.isBase) ?? null;
  return {
    ingredients: ingredients
      .filter((i) => !i.isBase)
      .map((i) => ({ path: i.absolutePath, sha256: i.sha256 })),
    base: base ? { path: base.absolutePath, sha256: base.sha256 } : null,
  };
}

/** The report of a kitchen from stored results only; what is missing is listed, never invented. */
export async function buildReportData(
  ctx: ServiceContext,
  client: ApiClient,
  kitchenId: number,
): Promise<Report> {
  const kitchen = await kitchenById(client, kitchenId);
  const info = await client.call('app:info', {});
  const compare = await latestCompare(client, kitchen);
  const missing: string[] = [];
  const recipes: Cooked[] = [];
  let prefixes: Array<z.output<typeof GreedyPrefix>> = [];
  let interpolationRecipeId: number | null = null;
  let ingredients: Array<z.output<typeof ReportIngredient>> = [];
  let similarity: z.output<typeof SimilarityData> | null = null;

  if (!compare) {
    missing.push(
      'No comparison of this kitchen yet: press "Prepare report" (or run `tureen report <folder>`).',
    );
  } else {
    const ids = [...new Set(compare.rows.map((r) => r.recipeId).filter((id): id is number => id !== null))];
    for (const id of ids) recipes.push(await getRecipe(client, id));
    const greedy = recipes.find((r) => r.recipe.method === 'greedy');
    if (greedy) {
      const result = await greedyPrefixes(client, kitchen, compare, greedy);
      prefixes = result.prefixes;
      if (result.lacking.length) {
        missing.push(
          `Test accuracy of ${result.lacking.length} greedy-soup prefix${result.lacking.length === 1 ? '' : 'es'} not cooked yet: "Prepare report" cooks them.`,
        );
      }
    }
    const [sweep] = await recipesOf(client, kitchen, 'interpolate');
    if (sweep) {
      const cooked = await getRecipe(client, sweep.id);
      recipes.push(cooked);
      interpolationRecipeId = cooked.recipeId;
    } else {
      missing.push(
        compare.rows.some((r) => r.kind === 'base')
          ? 'No interpolation sweep yet: "Prepare report" interpolates from the base to the best single model.'
          : 'No interpolation sweep: the kitchen has no base (pretrained) checkpoint; cook an interpolation between two models in Cook to add one.',
      );
    }
    const listed = await ingredientsOf(client, kitchen, compare);
    ingredients = listed.ingredients;
    if (!listed.scanned)
      missing.push('The kitchen was not scanned yet: hashes and hyperparameters appear after a scan.');
    const stored = loadSimilarity(ctx.paths, similarityInputs(ingredients));
    if (stored) {
      const labels = stored.paths.map(
        (p) => ingredients.find((i) => i.absolutePath === path.resolve(p))?.label ?? p,
      );
      similarity = {
        labels,
        cosine: stored.cosine,
        angle: stored.angleDegrees,
        against:
          stored.taskVectors && stored.base
            ? `task vectors against ${checkpointLabel(kitchen, stored.base)}`
            : 'weights',
      };
    } else {
      missing.push('No similarity of the ingredients yet: "Prepare report" computes it.');
    }
  }

  return {
    kitchen,
    generatedAt: new Date().toISOString(),
    environment: {
      tureen: info.version,
      node: info.versions.node,
      onnxruntime: info.versions.onnxruntime,
      sqlite: info.versions.sqlite,
      electron: info.versions.electron,
      platform: info.platform,
      provider: compare?.provider ?? null,
      comparisonOrtVersion: compare?.ortVersion ?? null,
    },
    compare,
    recipes,
    greedyPrefixes: prefixes,
    interpolationRecipeId,
    ingredients,
    similarity,
    missing,
  };
}
