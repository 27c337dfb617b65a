import { z } from 'zod';
import { FamilyPick } from './family-pick.js';
import { channel, jobChannel } from '../contract.js';
import { InferenceOptions } from './evaluations.js';

const HyperparameterValue = z.union([z.number(), z.string(), z.boolean()]);

/** One ingredient as the advisor sees it. Accuracies are fractions in [0, 1]. */
export const AdviceIngredient = z.object({
  path: z.string(),
  /** short name used in sentences (the run's folder without its key=value settings) */
  label: z.string(),
  holdout_top1: z.number(),
  holdout_correct: z.number().int(),
  /** ‖θ − θ_base‖; null without a base */
  task_vector_norm: z.number().nullable(),
  /** median L2 distance of its weights to the other ingredients' */
  median_distance: z.number(),
  /** Pearson correlation of its per-tensor-centred weights with the base's (null without a base) */
  base_correlation: z.number().nullable(),
  /** mean barrier with the other ingredients it was paired with; null when it was left out of the pairs */
  mean_barrier: z.number().nullable(),
  hyperparameters: z.record(z.string(), HyperparameterValue),
  /** index into lineage.groups */
  group: z.number().int(),
  outlier: z.boolean(),
  /** why it is an outlier, in words with the numbers behind it */
  reasons: z.array(z.string()),
});

export const AdvicePathPoint = z.object({
  alpha: z.number(),
  correct: z.number().int(),
  top1: z.number(),
});

/** One pair (a, b): the straight path (1 − α)·θ_a + α·θ_b on the held-out set. */
export const AdvicePair = z.object({
  a: z.string(),
  b: z.string(),
  /** cosine of the task vectors; null without a base */
  cosine: z.number().nullable(),
  /** L2 distance of the weights */
  l2: z.number(),
  /** top-1 of ½θ_a + ½θ_b */
  midpoint_top1: z.number(),
  /** max over the α grid of the straight line between the ends' top-1 minus the path's top-1 (α = ½ only: mean of the ends minus the midpoint) */
  barrier: z.number(),
  /** the α grid evaluated, ends excluded */
  points: z.array(AdvicePathPoint),
});

export const AdviceLineage = z.object({
  /** ingredient paths per group; group 0 holds the base's descendants (or, without a base, the largest group) */
  groups: z.array(z.array(z.string())),
  /** why each group after the first is separate, one sentence per group */
  notes: z.array(z.string()),
  /** two checkpoints share a start when their centred weight correlation is at least this */
  threshold: z.number(),
  /** the classifier head: the last floating-point tensors of the graph, with their shapes */
  head: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()) })),
});

export const AdviceOutlook = z.object({
  best_single: z.object({ path: z.string(), top1: z.number() }),
  /** mean of every candidate's held-out logits: a cheap upper estimate of what a soup could reach */
  ensemble_top1: z.number(),
  ensemble_without_outliers_top1: z.number().nullable(),
  uniform_top1: z.number(),
  uniform_without_outliers_top1: z.number().nullable(),
  /** the outliers left out in the *_without_outliers numbers */
  excluded: z.array(z.string()),
  /** median barrier over the pairs of non-outliers (null with fewer than two of them paired) */
  median_barrier: z.number().nullable(),
});

/** A greedy-soup step with the held-out images it changed and the exact McNemar p-value of the change. */
export const AdviceGreedyStep = z.object({
  step: z.number().int(),
  candidate: z.string(),
  accepted: z.boolean(),
  holdout_correct: z.number().int(),
  /** images the trial soup gets right and the current soup wrong, and the reverse */
  better: z.number().int(),
  worse: z.number().int(),
  /** exact two-sided McNemar p of trial vs current (1 for step 0) */
  p: z.number(),
  explanation: z.string(),
});

export const Advice = z.object({
  holdout: z.object({ name: z.string(), path: z.string(), n: z.number().int() }),
  base: z.string().nullable(),
  ingredients: z.array(AdviceIngredient),
  pairs: z.array(AdvicePair),
  /** pairs limited to the k best ingredients by held-out accuracy (null: every pair) */
  pairs_limit: z.number().int().nullable(),
  lineage: AdviceLineage,
  outlook: AdviceOutlook,
  greedy: z.object({ size: z.number().int(), steps: z.array(AdviceGreedyStep) }).nullable(),
  outlier_rule: z.object({
    statistic: z.string(),
    threshold: z.number(),
    /** barrier and top-1 gaps below this (two binomial standard errors of the median run's top-1) are never reasons */
    resolvable: z.number(),
  }),
  verdict: z.string(),
  warnings: z.array(z.string()),
  createdAt: z.string(),
});

export const AdviseRequest = InferenceOptions.extend({
  /** checkpoint files or folders (a base found by folder name is the base, not a candidate) */
  ingredients: z.array(z.string().min(1)).min(1, 'give at least one checkpoint or folder'),
  /** held-out eval set (else the one found in the folders with role holdout) */
  holdout: z.string().min(1).optional(),
  /** the pretrained checkpoint the runs started from (else found by folder name) */
  base: z.string().min(1).optional(),
  /** the ONNX graph for state dicts (else graph.onnx beside them or in a parent folder) */
  graph: z.string().min(1).optional(),
  /** evaluate pairs among the k best ingredients only (k(k − 1)/2 midpoints) */
  pairs: z.number().int().min(2).optional(),
  /** α grid for each pair's path, strictly between 0 and 1 (default [0.5]) */
  points: z.array(z.number().gt(0).lt(1)).min(1).optional(),
  /** also run the greedy soup and test each step (default true) */
  greedy: z.boolean().optional(),
  ...FamilyPick,
});

export const advisorApi = {
  'advisor:run': jobChannel(
    'Diagnose a sweep before cooking: lineage groups, pairwise midpoint barriers, outliers with reasons, the soup outlook and the greedy steps with McNemar p-values (job; result Advice)',
    AdviseRequest,
    Advice,
  ),
  'advisor:latest': channel(
    'The latest advice whose ingredients lie inside this folder, or null when there is none yet',
    z.object({ folder: z.string().min(1) }),
    Advice.nullable(),
  ),
};
