import { z } from 'zod';
import { channel, event, jobChannel } from '../contract.js';
import { EvaluationRecord, InferenceOptions, MetricValues } from './evaluations.js';
import { FamilyPick } from './family-pick.js';

/** The merge methods of the registry (core/recipes/methods/); a test keeps this list equal to it. */
export const MergeMethodName = z.enum(['task-arithmetic', 'ties', 'dare', 'slerp', 'model-stock']);

export const RecipeMethod = z.enum([
  'uniform',
  'greedy',
  'learned',
  'interpolate',
  ...MergeMethodName.options,
]);

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

export const SearchCurve = z.object({
  /** the parameter searched (lambda, density, t, ...) */
  param: z.string(),
  holdout: z.object({ name: z.string(), sha256: z.string() }),
  points: z.array(
    z.object({ value: z.number(), holdout_correct: z.number().int(), holdout_top1: z.number() }),
  ),
  chosen: z.number(),
  rule: z.string(),
});

/** An ingredient of a recipe: its content hash and its coefficient (merge methods: its weight wᵢ). */
export const RecipeIngredient = z.object({
  path: z.string(),
  sha256: z.string(),
  coefficient: z.number(),
  /** file size (recipe files; recipes stored before the cook paths were merged lack it) */
  bytes: z.number().optional(),
  /** a PyTorch checkpoint whose EMA weights were used (the sha256 is then of those weights) */
  ema: z.boolean().optional(),
});

const HoldoutRef = z.object({ name: z.string(), sha256: z.string() });

/** How the weights were accumulated and written; every method records these. */
const WriteParams = {
  precision: z.enum(['f32', 'f64']).optional(),
  /** float dtype of .safetensors outputs, when one was asked for */
  dtype: z.enum(['f32', 'f16', 'bf16', 'f64']).optional(),
};

/** A field another method records: absent here (so `recipe.steps ?? []` reads on any recipe). */
const absent = z.undefined().optional();

const Common = {
  ingredients: z.array(RecipeIngredient).min(1),
  /** the held-out set that selected or searched (null when none took part) */
  holdout: HoldoutRef.nullable().default(null),
  /** sha256 of the family graph and the soup's float32 weights as evaluated (null: not evaluated) */
  weights_sha256: z.string().nullable().default(null),
};

const NoGreedy = { steps: absent };
const NoLearned = {
  coefficients: absent,
  logit_scale: absent,
  loss_curve: absent,
  optimiser: absent,
  budget: absent,
};
const NoInterpolation = { points: absent };
const NoMerge = { base: absent, merge: absent, search: absent };

export const UniformRecipe = z.object({
  method: z.literal('uniform'),
  params: z.looseObject({ ...WriteParams }),
  ...Common,
  ...NoGreedy,
  ...NoLearned,
  ...NoInterpolation,
  ...NoMerge,
});

export const GreedyRecipe = z.object({
  method: z.literal('greedy'),
  params: z.looseObject({
    ...WriteParams,
    /** `>=` the paper's rule, `>` the authors' code */
    rule: z.enum(['>=', '>']).optional(),
    order: z.string().optional(),
  }),
  ...Common,
  /** every step including step 0 */
  steps: z.array(GreedyStep),
  ...NoLearned,
  ...NoInterpolation,
  ...NoMerge,
});

export const LearnedRecipe = z.object({
  method: z.literal('learned'),
  params: z.looseObject({
    ...WriteParams,
    optimiser: z.string().optional(),
    objective: z.string().optional(),
    budget: z.number().int().optional(),
    seed: z.number().int().optional(),
  }),
  ...Common,
  ...NoGreedy,
  /** softmax-normalised mixing coefficients (same order as ingredients) and the logit scale */
  coefficients: z.array(z.number()),
  logit_scale: z.number(),
  loss_curve: z.array(LossPoint),
  optimiser: z.string().optional(),
  budget: z.number().int().optional(),
  ...NoInterpolation,
  ...NoMerge,
});

export const InterpolationRecipe = z.object({
  method: z.literal('interpolate'),
  params: z.looseObject({
    ...WriteParams,
    /** the α of the soup: θ = (1 − α)·A + α·B */
    alpha: z.number().optional(),
    /** the grid evaluated, and how α was chosen from it */
    alphas: z.array(z.number()).optional(),
    chosen_by: z.string().optional(),
    /** the ends A and B */
    a: z.string().optional(),
    b: z.string().optional(),
  }),
  ...Common,
  ...NoGreedy,
  ...NoLearned,
  /** one point per α of the grid (absent when nothing was evaluated) */
  points: z.array(InterpolationPoint).optional(),
  ...NoMerge,
});

function mergeRecipe<M extends z.output<typeof MergeMethodName>>(name: M) {
  return z.object({
    method: z.literal(name),
    /** precision and the method's params as run (defaults filled in) */
    params: z.looseObject({ ...WriteParams }),
    ...Common,
    ...NoGreedy,
    ...NoLearned,
    ...NoInterpolation,
    /** the base the task vectors are taken against (bytes: in recipe files) */
    base: z.object({ path: z.string(), sha256: z.string(), bytes: z.number().optional() }).nullable(),
    /** what the method reports (per-tensor ratios, kept fractions, linear equivalents, ...) */
    merge: z.record(z.string(), z.unknown()),
    /** a parameter searched on the held-out set: every grid point and the one kept */
    search: SearchCurve.optional(),
  });
}

/**
 * A recipe: one variant per method, keyed by `method`. It is what the store keeps, what `recipes:cook`
 * answers, and (with RecipeFileHeader) the schema of `<out>.recipe.json`.
 */
export const Recipe = z.discriminatedUnion('method', [
  UniformRecipe,
  GreedyRecipe,
  LearnedRecipe,
  InterpolationRecipe,
  mergeRecipe('task-arithmetic'),
  mergeRecipe('ties'),
  mergeRecipe('dare'),
  mergeRecipe('slerp'),
  mergeRecipe('model-stock'),
]);

export const RECIPE_FILE_SCHEMA = 'tureen/recipe@1';

/** What a recipe file adds to its recipe: the schema, the tool that wrote it, when, and the soups' hashes. */
export const RecipeFileHeader = z.object({
  schema: z.literal(RECIPE_FILE_SCHEMA),
  tool: z.object({ name: z.literal('tureen'), version: z.string() }),
  created: z.string(),
  outputs: z.array(z.object({ path: z.string(), sha256: z.string() })),
});

/** `<out>.recipe.json`: the recipe with its header. */
export const RecipeFile = z.intersection(RecipeFileHeader, Recipe);

/** A soup a cook wrote: the file and its sha256 (a manifest hash with external data), size and files. */
export const CookOutputFile = z.object({
  path: z.string(),
  sha256: z.string(),
  format: z.enum(['onnx', 'safetensors']).optional(),
  bytes: z.number().optional(),
  /** the output file plus its external data file, if any */
  files: z.array(z.string()).optional(),
});

export const CookResult = z.object({
  recipeId: z.number().int(),
  recipe: Recipe,
  /** the soup on every eval set given (holdout first); empty when it was not evaluated */
  evaluations: z.array(EvaluationRecord),
  outputs: z.array(CookOutputFile),
  /** the `<out>.recipe.json` written beside each output */
  recipeFiles: z.array(z.string()).optional(),
  /** what the user should know about the soup (family warnings, DARE on large task vectors, ...) */
  warnings: z.array(z.string()).optional(),
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
  /** a merge method of the registry (task arithmetic, TIES, ...); `method` names it */
  'merge',
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
  /** merge rows: the registry method (its params are in the recipe behind recipeId) */
  method: MergeMethodName.optional(),
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
  ...FamilyPick,
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
  /** interpolate: one α (any finite value; outside [0, 1] extrapolates) instead of a grid */
  alpha: z.number().optional(),
  /** write the soup here (.onnx or .safetensors by extension) with <out>.recipe.json */
  out: z.string().min(1).optional(),
  /** several outputs (with `out`, all of them are written) */
  outputs: z.array(z.string().min(1)).optional(),
  /** evaluate the soup on the eval sets given or found (default true; greedy, learned and searches need
   *  their held-out set whatever this says). false: only average and write, no inference at all */
  evaluate: z.boolean().optional(),
  /** ONNX graph for state dicts (else graph.onnx beside them or in a parent folder) */
  graph: z.string().min(1).optional(),
  /** float dtype of .safetensors outputs (default: the ingredients') */
  dtype: z.enum(['f32', 'f16', 'bf16', 'f64']).optional(),
  /** accumulate in float64 instead of float32 */
  precision: z.enum(['f32', 'f64']).optional(),
  /** .onnx outputs: weights in <out>.data even when they would fit */
  externalData: z.boolean().optional(),
  /** merge methods: the base checkpoint (else one found in a base/pretrained/zeroshot folder) */
  base: z.string().min(1).optional(),
  /** the method's params (checked against its schema in the registry; defaults filled in). The fields
   *  strict, budget, seed, alpha and alphas above are the same params under their older names */
  params: z.record(z.string(), z.unknown()).optional(),
  /** merge methods: search one param on the held-out set, `name=from:to:step` */
  search: z.string().min(1).optional(),
});

const ParamDescription = z.object({
  name: z.string(),
  kind: z.enum(['number', 'integer', 'boolean', 'numbers', 'choice']),
  description: z.string(),
  default: z.union([z.number(), z.boolean(), z.string()]).optional(),
  /** a choice's allowed values */
  choices: z.array(z.string()).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  exclusiveMinimum: z.boolean().optional(),
  exclusiveMaximum: z.boolean().optional(),
  searchable: z.boolean(),
});

/** A method of the registry as data: what the CLI verbs, the Cook view's forms and the docs are built from. */
export const MethodDescription = z.object({
  name: RecipeMethod,
  /** soup: a combination chosen from the ingredients (uniform, greedy, learned, interpolation);
   *  merge: per-tensor arithmetic on task vectors (task arithmetic, TIES, ...) */
  kind: z.enum(['soup', 'merge']),
  title: z.string(),
  summary: z.string(),
  reference: z.string(),
  needs: z.object({
    base: z.enum(['required', 'optional', 'none']),
    models: z.object({ min: z.number().int(), max: z.number().int().optional() }),
    holdout: z.boolean(),
    unlabelled: z.boolean(),
  }),
  params: z.array(ParamDescription),
});

export const SavedSoup = z.object({
  outputs: z.array(z.object({ path: z.string(), sha256: z.string() })),
  weights_sha256: z.string(),
  /** whether the written weights hash as the evaluated soup's did */
  same_weights_as_evaluated: z.boolean(),
});

export const recipesApi = {
  'recipes:cook': jobChannel(
    'Cook with a method of the registry: uniform, greedy (paper Recipe 1), learned (CMA-ES on held-out cross-entropy), interpolate (one α or a sweep), or a merge (task-arithmetic, ties, dare, slerp, model-stock; params, base, optional held-out search); evaluated on the eval sets found or given unless evaluate is false; written to out/outputs with <out>.recipe.json (job; result CookResult)',
    CookRequest,
    CookResult,
  ),
  'recipes:methods': channel(
    'The methods of the registry (soups and merges, in help order): params with defaults and ranges, and what each needs',
    z.object({}),
    z.object({ methods: z.array(MethodDescription) }),
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
  'recipes:saveSoup': jobChannel(
    "Write a stored recipe's soup to disk (.onnx and/or .safetensors by extension, plus <out>.recipe.json); refuses changed ingredients (job; result {outputs: [{path, sha256}], weights_sha256, same_weights_as_evaluated})",
    z.object({ id: z.number().int().positive(), out: z.string().min(1) }),
    SavedSoup,
  ),
  'compare:run': jobChannel(
    'The comparison table of a sweep: every ingredient, best single, oracle, uniform/greedy/learned soups, merge methods (model stock, task arithmetic with a λ search, ... by `methods`), ensemble, greedy ensemble (job; result CompareTable)',
    InferenceOptions.extend({
      ...FamilyPick,
      folders: z.array(z.string().min(1)).min(1),
      holdout: z.string().min(1).optional(),
      evals: z.array(z.string().min(1)).optional(),
      /** learned-soup budget in held-out evaluations (0 leaves the learned soup out) */
      learnedBudget: z.number().int().min(0).max(5000).optional(),
      /** soups and merge methods to compare (default: uniform, greedy, learned, plus model-stock and
       *  task-arithmetic with a held-out λ search when the sweep has a base) */
      methods: z.array(z.string().min(1)).optional(),
    }),
    CompareTable,
  ),
  'compare:table': channel(
    'A stored comparison table: by id, or the latest one; with folder, the latest whose folders lie inside that folder or contain it. null when there is none yet (an unknown id is not_found)',
    z.object({ id: z.number().int().positive().optional(), folder: z.string().min(1).optional() }),
    CompareTable.nullable(),
  ),
};

export const recipesEvents = {
  'recipes:step': event(
    "A greedy soup (cook or compare job) finished a step: the recipe's GreedyStep (candidate relative to the folder given), with the job's id; step 0 is the best single ingredient",
    GreedyStep.extend({ jobId: z.string() }),
  ),
};
