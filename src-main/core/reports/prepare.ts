import path from 'node:path';
import type { z } from 'zod';
import type { ReportData } from '../../common/api/reports.js';
import type { JobContext } from '../jobs.js';
import type { ApiClient, ServiceContext } from '../service.js';
import { SimilarityResult } from '../../common/api/checkpoints.js';
import { buildReportData, greedyPrefixes, ingredientsOf, recipesOf, similarityInputs } from './data.js';
import { loadSimilarity, storeSimilarity } from './similarity-store.js';
import { getRecipe, kitchenById, latestCompare } from './sources.js';

export interface PrepareOptions {
  kitchenId: number;
  learnedBudget?: number | undefined;
  alphas?: number[] | undefined;
}

/** WiSE-FT's grid: 0 is the base, 1 the fine-tuned model. */
export const DEFAULT_ALPHAS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/**
 * Evaluates and cooks what the report still lacks, through the evaluation engine's channels, so each
 * piece lands in the store (and the logit cache) exactly as if the user had asked for it; nothing that is
 * already stored is recomputed.
 */
export async function prepareReport(
  ctx: ServiceContext,
  client: ApiClient,
  job: JobContext,
  options: PrepareOptions,
): Promise<z.output<typeof ReportData>> {
  const kitchen = await kitchenById(client, options.kitchenId);
  const stage = (done: number, message: string) => job.progress({ done, total: 5, unit: 'stages', message });

  stage(0, 'comparison');
  let compare = await latestCompare(client, kitchen);
  if (!compare) {
    await client.run('compare:run', {
      folders: [kitchen.path],
      ...(options.learnedBudget !== undefined ? { learnedBudget: options.learnedBudget } : {}),
    });
    compare = await latestCompare(client, kitchen);
  }
  job.throwIfCancelled();
  if (!compare) return buildReportData(ctx, client, kitchen.id);
  const folder = compare.folders[0] ?? kitchen.path;
  const evals = compare.evalsets.map((s) => s.path);

  stage(1, 'greedy soup prefixes');
  const greedyRow = compare.rows.find((r) => r.kind === 'greedy_soup' && r.recipeId !== null);
  if (greedyRow?.recipeId) {
    const greedy = await getRecipe(client, greedyRow.recipeId);
    const { lacking } = await greedyPrefixes(client, kitchen, compare, greedy);
    for (const prefix of lacking) {
      job.throwIfCancelled();
      await client.run('recipes:cook', { method: 'uniform', ingredients: prefix, evals });
    }
  }

  stage(2, 'interpolation sweep');
  const base = compare.rows.find((r) => r.kind === 'base');
  const best = compare.rows.find((r) => r.kind === 'best_single');
  const existing = (await recipesOf(client, kitchen, 'interpolate')).length > 0;
  if (!existing && base?.ingredients[0] && best?.ingredients[0]) {
    job.throwIfCancelled();
    await client.run('recipes:cook', {
      method: 'interpolate',
      ingredients: [path.resolve(folder, base.ingredients[0]), path.resolve(folder, best.ingredients[0])],
      alphas: options.alphas ?? DEFAULT_ALPHAS,
      evals,
    });
  }
  stage(3, 'scan for hashes and hyperparameters');
  let listed = await ingredientsOf(client, kitchen, compare);
  if (!listed.scanned) {
    await client.run('checkpoints:scan', { kitchenId: kitchen.id });
    listed = await ingredientsOf(client, kitchen, compare);
  }

  stage(4, 'ingredient similarity');
  const inputs = similarityInputs(listed.ingredients);
  if (inputs.ingredients.length >= 2 && !loadSimilarity(ctx.paths, inputs)) {
    job.throwIfCancelled();
    const result = SimilarityResult.parse(
      await client.run('checkpoints:similarity', {
        ingredients: inputs.ingredients.map((i) => i.path),
        ...(inputs.base ? { base: inputs.base.path } : {}),
      }),
    );
    storeSimilarity(ctx.paths, inputs, result);
  }
  stage(5, 'done');
  return buildReportData(ctx, client, kitchen.id);
}
