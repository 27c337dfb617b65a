import { RecipeMethod } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';
import { openIngredient, writeSoup } from '../checkpoints/index.js';
import type { RecipeBody } from '../checkpoints/recipe.js';
import { greedyAdditions, recipeEma } from '../checkpoints/recipe.js';
import type { Ingredient, WeightAccumulator } from '../checkpoints/index.js';
import { compareSweep } from '../recipes/compare.js';
import { loadComparison, saveComparison } from '../store/comparison-store.js';
import { cook } from '../recipes/cook.js';
import { openFamily } from '../checkpoints/open-family.js';
import { getRecipe, listRecipes, updateRecipeOutputs } from '../store/recipe-store.js';
import { loadParts, mixParts } from '../recipes/learned.js';
import { mergeWeights } from '../recipes/merge.js';
import { describeMethod } from '../recipes/methods/describe.js';
import { METHODS, findMethod, mergeMethod } from '../recipes/methods/index.js';
import type { RunSettings } from '../inference/engine.js';
import { DEFAULT_BATCH_SIZE } from '../inference/engine.js';
import { RecipeRunner } from '../recipes/runner.js';
import { SoupModels } from '../recipes/soup-models.js';
import type { Handlers, ServiceContext } from '../service.js';
import { checkReadable, checkWritable, familyPickFor } from './kitchens.js';

/** The run settings of a job that evaluates nothing (never sent to the inference host). */
const NO_INFERENCE: RunSettings = {
  provider: 'none',
  threads: null,
  batchSize: DEFAULT_BATCH_SIZE,
  notes: [],
};

export function recipeHandlers(
  ctx: ServiceContext,
): Handlers<
  | 'recipes:cook'
  | 'recipes:methods'
  | 'recipes:list'
  | 'recipes:get'
  | 'recipes:saveSoup'
  | 'compare:run'
  | 'compare:table'
> {
  return {
    'recipes:cook': (req) => {
      const engine = ctx.engine;
      // A cook that only averages and writes (evaluate: false, no held-out choice or search) runs no
      // inference: it does not load onnxruntime to pick a provider (a quarter second per `cook uniform`).
      const method = findMethod(req.method);
      const averagesOnly = req.evaluate === false && !req.search && method?.needs.holdout === false;
      const settings = averagesOnly ? NO_INFERENCE : engine.settings(req);
      const ingredients = req.ingredients.map((p) => checkReadable(ctx, p));
      const holdout = req.holdout ? checkReadable(ctx, req.holdout) : undefined;
      const evals = req.evals?.map((p) => checkReadable(ctx, p));
      const base = req.base ? checkReadable(ctx, req.base) : undefined;
      const graph = req.graph ? checkReadable(ctx, req.graph) : undefined;
      const out = req.out ? checkWritable(ctx, req.out) : undefined;
      const outputs = req.outputs?.map((o) => checkWritable(ctx, o));
      const jobId = ctx.jobs.start(`cook:${req.method}`, `Cook a ${req.method} soup`, (job) =>
        cook(ctx.db, new RecipeRunner(engine, settings, job, ctx.events), {
          ...req,
          ingredients,
          holdout,
          evals,
          base,
          graph,
          out,
          outputs,
          ...familyPickFor(ctx, req, ingredients),
        }),
      );
      return { jobId };
    },
    'recipes:methods': () => ({
      methods: METHODS.map((m) => {
        const d = describeMethod(m);
        return { ...d, name: RecipeMethod.parse(d.name) };
      }),
    }),
    'recipes:list': () => ({ recipes: listRecipes(ctx.db) }),
    'recipes:get': (req) => getRecipe(ctx.db, req.id),
    'recipes:saveSoup': (req) => {
      const stored = getRecipe(ctx.db, req.id);
      const out = checkWritable(ctx, req.out);
      const jobId = ctx.jobs.start('save-soup', `Write soup of recipe ${req.id}`, async (job) => {
        const { recipe } = stored;
        const opened: Ingredient[] = [];
        for (const entry of recipe.ingredients) {
          const ingredient = openIngredient(entry.path, { db: ctx.db, base: false, ...recipeEma(recipe) });
          const sha = await ingredient.sha256(job.signal);
          if (sha !== entry.sha256) {
            throw new TureenError(
              'conflict',
              `${entry.path} changed since recipe ${req.id} was cooked (sha256 ${sha.slice(0, 12)}…, recipe has ${entry.sha256.slice(0, 12)}…); cook again`,
              {
                file: entry.path,
              },
            );
          }
          opened.push(ingredient);
        }
        const sweep = await openFamily(
          recipe.ingredients.map((i) => i.path),
          { db: ctx.db, ...recipeEma(recipe) },
        );
        const models = await SoupModels.create(sweep);
        // Rebuild the weights with the arithmetic that produced the evaluated soup: uniform and greedy as
        // (Σ θ) · 1/k, learned as in-memory Σ α·θ, interpolation as streamed Σ c·θ.
        const coefficients = recipe.ingredients.map((i) => i.coefficient);
        const uniform =
          (recipe.method === 'uniform' || recipe.method === 'greedy') &&
          coefficients.every((c) => c === coefficients[0]);
        // a greedy recipe's steps name its additions (paths relative to the folder it was cooked from)
        const additions = recipe.method === 'greedy' ? greedyAdditions(recipe.steps, opened) : null;
        let sum: WeightAccumulator;
        const merge = mergeMethod(recipe.method);
        let base: Ingredient | null = null;
        if (merge) {
          // a merge method is run again with its recorded params over the same ingredients and base
          if (recipe.base) {
            base = openIngredient(recipe.base.path, { db: ctx.db, base: true, ...recipeEma(recipe) });
            const sha = await base.sha256(job.signal);
            if (sha !== recipe.base.sha256) {
              throw new TureenError(
                'conflict',
                `${recipe.base.path} (the base) changed since recipe ${req.id} was cooked; cook again`,
                { file: recipe.base.path },
              );
            }
          }
          job.progress({ done: 0, total: null, unit: 'ingredients', message: `${merge.title}: merging` });
          const merged = await mergeWeights(
            merge,
            recipe.params,
            { base, models: opened },
            models.graph.weightLayout,
            { signal: job.signal },
          );
          sum = merged.weights;
        } else if (recipe.method === 'learned') {
          job.progress({ done: 0, total: null, unit: 'ingredients', message: 'reading ingredients' });
          sum = mixParts(models, await loadParts(models, opened, job.signal), coefficients);
        } else if (additions) {
          // greedy (with replacement too): every accepted addition in the order it was accepted, as cooked
          sum = models.accumulator();
          for (const [i, ingredient] of additions.entries()) {
            job.throwIfCancelled();
            job.progress({
              done: i,
              total: additions.length,
              unit: 'ingredients',
              message: 'averaging',
            });
            await sum.addScaled(ingredient, 1, { signal: job.signal });
          }
        } else {
          sum = models.accumulator();
          for (const [i, ingredient] of opened.entries()) {
            job.throwIfCancelled();
            job.progress({ done: i, total: opened.length, unit: 'ingredients', message: 'averaging' });
            await sum.addScaled(ingredient, uniform ? 1 : coefficients[i]!, { signal: job.signal });
          }
        }
        const scale = additions ? 1 / additions.length : uniform ? recipe.ingredients[0]!.coefficient : 1;
        // The same floats as the soup that was evaluated, unless the arithmetic changed since it was cooked.
        const weightsSha256 = models.soupModel(sum, scale, 'replay').model.hash;
        const written = await writeSoup({
          family: sweep.family,
          weights: sum,
          scale,
          outputs: [out],
          // the stored recipe as it was cooked, with the files' sizes (a recipe file records them)
          recipe: {
            ...recipe,
            ingredients: recipe.ingredients.map((entry, i) => ({ ...entry, bytes: opened[i]!.bytes })),
            ...(base && recipe.base ? { base: { ...recipe.base, bytes: base.bytes } } : {}),
          } as RecipeBody,
        });
        const outputs = written.outputs.map((o) => ({ path: o.path, sha256: o.sha256 }));
        updateRecipeOutputs(ctx.db, req.id, outputs);
        return {
          outputs,
          weights_sha256: weightsSha256,
          same_weights_as_evaluated: weightsSha256 === recipe.weights_sha256,
        };
      });
      return { jobId };
    },
    'compare:run': (req) => {
      const engine = ctx.engine;
      const settings = engine.settings(req);
      const folders = req.folders.map((f) => checkReadable(ctx, f));
      const holdout = req.holdout ? checkReadable(ctx, req.holdout) : undefined;
      const evals = req.evals?.map((p) => checkReadable(ctx, p));
      const jobId = ctx.jobs.start('compare', `Compare soups in ${folders.join(', ')}`, async (job) => {
        const table = await compareSweep(ctx.db, new RecipeRunner(engine, settings, job, ctx.events), {
          folders,
          holdout,
          evals,
          learnedBudget: req.learnedBudget,
          methods: req.methods,
          ...familyPickFor(ctx, req, folders),
        });
        return saveComparison(ctx.db, table);
      });
      return { jobId };
    },
    'compare:table': (req) => {
      const table = loadComparison(ctx.db, {
        ...(req.id !== undefined ? { id: req.id } : {}),
        ...(req.folder !== undefined ? { folder: req.folder } : {}),
      });
      // No comparison yet is an empty state (null), not an error; an id that names none is.
      if (!table && req.id !== undefined) {
        const covering = req.folder !== undefined ? ` covering ${req.folder}` : '';
        throw new TureenError('not_found', `no comparison with id ${req.id}${covering}`, { ...req });
      }
      return table;
    },
  };
}
