import { z } from 'zod';
import { channel, event } from '../contract.js';
import { EvaluationRecord, InferenceOptions, JobStarted, MetricValues } from './evaluations.js';

export const RecipeMethod = z.enum(['uniform', 'greedy', 'learned', 'interpolate']);

export const GreedyStep = z.object({
  /** step 0 is the starting ingredient (always accepted) */
  step: z.number().int(),
  candidate: z.string(),
  holdout_correct: z.number().int(),
  holdout_top1: z.number(),
  accepted: z.boolean(),
  /** number of ingredients in the soup after this step */
  size: z.number().int(),
});

export const LossPoint = z.object({
  /** held-out evaluations spent so far */
  evaluation: z.number().int(),
  /** best held-out cross-entropy so far (of softmax(logit_scale · logits)) */
  loss: z.number(),
});

export const InterpolationPoint = z.object({
  alpha: z.number(),
  /** eval-set name → metrics of (1 − α)·A + α·B */
  metrics: z.record(z.string(), MetricValues),
});

/** A recipe as stored and as written next to a soup (`<out>.recipe.json`, schema tureen/recipe@1). */
export const Recipe = z.object({
  method: RecipeMethod,
  params: z.record(z.string(), z.unknown()),
  ingredients: z.array(z.object({ path: z.string(), sha256: z.string(), coefficient: z.number() })),
  holdout: z.object({ name: z.string(), sha256: z.string() }).nullable(),
  /** greedy: every step including step 0 */
  steps: z.array(GreedyStep).optional(),
  /** learned: softmax-normalised mixing coefficients (same order as ingredients) and the logit scale */
  coefficients: z.array(z.number()).optional(),
  logit_scale: z.number().optional(),
  loss_curve: z.array(LossPoint).optional(),
  optimiser: z.string().optional(),
  budget: z.number().int().optional(),
  /** interpolate: one point per α */
  points: z.array(InterpolationPoint).optional(),
  /** sha256 of the soup's float32 weights (as evaluated) */
  weights_sha256: z.string().nullable(),
});

export const CookResult = z.object({
  recipeId: z.number().int(),
  recipe: Recipe,
  /** the soup on every eval set given (holdout first) */
  evaluations: z.array(EvaluationRecord),
  outputs: z.array(z.object({ path: z.string(), sha256: z.string() })),
});

export const RecipeSummary = z.object({
  id: z.number().int(),
  method: RecipeMethod,
  label: z.string(),
  folder: z.string().nullable(),
  ingredients: z.number().int(),
  createdAt: z.string(),
});

export const CompareKind = z.enum([
  'base',
  'ingredient',
  'best_single',
  'oracle',
  'uniform_soup',
  'greedy_soup',
  'learned_soup',
  'ensemble',
  'greedy_ensemble',
]);

export const CompareRow = z.object({
  kind: CompareKind,
  label: z.string(),
  /** paths relative to the first folder given */
  ingredients: z.array(z.string()),
  /** eval-set name → metrics (null when not evaluated; the oracle row has one chosen model per set) */
  metrics: z.record(z.string(), MetricValues.nullable()),
  /** mean top-1 over the shift sets, null without shift sets */
  meanShift: z.number().nullable(),
  /** parameters of one model (floating-point initializer elements) */
  params: z.number().int(),
  /** inference cost relative to one model: N for an ensemble of N, 1 for any soup or single model */
  relativeCost: z.number(),
  /** eval-set name → exact McNemar p-value of this row vs the best single model (null for that row itself) */
  mcnemarP: z.record(z.string(), z.number().nullable()),
  /** the stored recipe behind a soup row */
  recipeId: z.number().int().nullable(),
  /** oracle row: eval-set name → which ingredient was best there */
  chosen: z.record(z.string(), z.string()).optional(),
});

export const CompareTable = z.object({
  id: z.number().int(),
  folders: z.array(z.string()),
  evalsets: z.array(z.object({ name: z.string(), role: z.string(), path: z.string(), n: z.number().int() })),
  rows: z.array(CompareRow),
  provider: z.string(),
  ortVersion: z.string(),
  warnings: z.array(z.string()),
  createdAt: z.string(),
});

const CookRequest = InferenceOptions.extend({
  method: RecipeMethod,
  /** checkpoint files or folders (folders are scanned; a base found by folder name is left out unless `base` names it) */
  ingredients: z.array(z.string().min(1)).min(1, 'give at least one checkpoint or folder'),
  /** holdout eval set (required for greedy and learned) */
  holdout: z.string().min(1).optional(),
  /** further eval sets the result is evaluated on */
  evals: z.array(z.string().min(1)).optional(),
  /** greedy: accept only strictly better candidates (the authors' code) instead of not-worse (the paper) */
  strict: z.boolean().optional(),
  /** learned: held-out evaluations the optimiser may spend, and its seed */
  budget: z.number().int().min(4).max(5000).optional(),
  seed: z.number().int().optional(),
  /** interpolate: α grid; with two ingredients A, B the point is (1 − α)·A + α·B */
  alphas: z.array(z.number().min(-1).max(2)).optional(),
  /** write the soup here (.onnx and/or .safetensors by extension) with <out>.recipe.json */
  out: z.string().min(1).optional(),
});

export const recipesApi = {
  'recipes:cook': channel(
    'Cook a soup: uniform, greedy (paper Recipe 1), learned (CMA-ES on held-out cross-entropy) or an interpolation sweep (job; result CookResult)',
    CookRequest,
    JobStarted,
  ),
  'recipes:list': channel(
    'Stored recipes, newest first',
    z.object({}),
    z.object({ recipes: z.array(RecipeSummary) }),
  ),
  'recipes:get': channel(
    'One stored recipe with its evaluations',
    z.object({ id: z.number().int().positive() }),
    CookResult,
  ),
  'recipes:saveSoup': channel(
    "Write a stored recipe's soup to disk (.onnx and/or .safetensors by extension, plus <out>.recipe.json); refuses changed ingredients (job; result {outputs: [{path, sha256}], weights_sha256, same_weights_as_evaluated})",
    z.object({ id: z.number().int().positive(), out: z.string().min(1) }),
    JobStarted,
  ),
  'compare:run': channel(
    'The comparison table of a sweep: every ingredient, best single, oracle, uniform/greedy/learned soups, ensemble, greedy ensemble (job; result CompareTable)',
    InferenceOptions.extend({
      folders: z.array(z.string().min(1)).min(1),
      holdout: z.string().min(1).optional(),
      evals: z.array(z.string().min(1)).optional(),
      /** learned-soup budget in held-out evaluations (0 leaves the learned soup out) */
      learnedBudget: z.number().int().min(0).max(5000).optional(),
    }),
    JobStarted,
  ),
  'compare:table': channel(
    'A stored comparison table: by id, or the latest one; with folder, the latest whose folders lie inside that folder or contain it. null when there is none yet (an unknown id is not_found)',
    z.object({ id: z.number().int().positive().optional(), folder: z.string().min(1).optional() }),
    CompareTable.nullable(),
  ),
};

export const recipesEvents = {
  'recipes:step': event(
    'A greedy soup (cook or compare job) finished a step; step 0 is the best single ingredient',
    z.object({
      jobId: z.string(),
      step: z.number().int(),
      /** path relative to the folder given, as in the recipe's steps */
      candidate: z.string(),
      holdoutCorrect: z.number().int(),
      holdoutTop1: z.number(),
      accepted: z.boolean(),
      /** number of ingredients in the soup after this step */
      soupSize: z.number().int(),
    }),
  ),
};
