import { z } from 'zod';
import { FamilyPick } from './family-pick.js';
import { channel, jobChannel } from '../contract.js';

export const MetricValues = z.object({
  n: z.number().int(),
  /** integer top-1 hits (greedy decisions compare these) */
  correct: z.number().int(),
  /** fractions in [0, 1] */
  top1: z.number(),
  /** null under 5 classes */
  top5: z.number().nullable(),
  /**
   * NLL of softmax(logits) (of softmax(scale · logits) for learned soups), nats per example; null when some
   * example's logits are NaN or ±Inf (see EvaluationRecord.nonFinite)
   */
  nll: z.number().nullable(),
  /** expected calibration error, 15 equal-width bins over the top softmax probability; null like nll */
  ece: z.number().nullable(),
});

export const EvaluationRecord = MetricValues.extend({
  id: z.number().int(),
  /** examples whose logits hold NaN or ±Inf: each is a top-1/top-5 miss, and NLL and ECE are null */
  nonFinite: z.number().int().nonnegative(),
  model: z.object({
    /** weights hash: sha256 of the checkpoint file(s), or of a soup's weights and graph */
    hash: z.string(),
    label: z.string(),
    path: z.string().nullable(),
    kind: z.enum(['ingredient', 'soup']),
  }),
  evalset: z.object({ hash: z.string(), name: z.string(), path: z.string() }),
  /** accuracy per class (of the class subset when there is one), null for classes without examples */
  perClass: z.array(z.number().nullable()),
  /** execution provider that ran it, batch size, threads (null: ORT default), inference wall time */
  provider: z.string(),
  ortVersion: z.string(),
  batchSize: z.number().int(),
  threads: z.number().int().nullable(),
  durationMs: z.number(),
  createdAt: z.string(),
  /** true when this run read the logits from the cache instead of running the model; false for stored rows */
  cached: z.boolean().optional(),
});

export const InferenceOptions = z.object({
  /** execution provider (cpu, cuda, dml, coreml); default: the preferred available one */
  provider: z.string().min(1).optional(),
  /** intra-op threads; default: ONNX Runtime's choice */
  threads: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().max(65536).optional(),
});

export const CacheUsage = z.object({ dir: z.string(), files: z.number().int(), bytes: z.number().int() });

export const evaluationsApi = {
  'evaluations:run': jobChannel(
    'Evaluate checkpoints (files or folders) on eval sets (job; result {evaluations: EvaluationRecord[], notes: string[]}, notes saying what was changed from the request, e.g. threads capped at the core count); cached logits are reused',
    InferenceOptions.extend({
      models: z.array(z.string().min(1)).min(1, 'give at least one model'),
      evalsets: z.array(z.string().min(1)).min(1, 'give at least one eval set'),
      /** family applies to each model input on its own (a folder of several families) */
      ...FamilyPick,
    }),
    z.object({ evaluations: z.array(EvaluationRecord), notes: z.array(z.string()) }),
  ),
  'evaluations:matrix': channel(
    'Stored evaluations (latest per model and eval set), optionally only for these model paths / eval-set paths',
    z.object({ models: z.array(z.string()).optional(), evalsets: z.array(z.string()).optional() }),
    z.object({ evaluations: z.array(EvaluationRecord) }),
  ),
  'evaluations:significance': channel(
    'Exact McNemar test between two evaluated models on one eval set, and 95 % bootstrap intervals of their top-1 (from cached logits)',
    z.object({ modelA: z.string().min(1), modelB: z.string().min(1), evalset: z.string().min(1) }),
    z.object({
      n: z.number().int(),
      onlyA: z.number().int(),
      onlyB: z.number().int(),
      p: z.number(),
      top1A: z.object({ value: z.number(), low: z.number(), high: z.number() }),
      top1B: z.object({ value: z.number(), low: z.number(), high: z.number() }),
    }),
  ),
  'evaluations:cacheUsage': channel(
    'Where cached logits live and how much space they take',
    z.object({}),
    CacheUsage,
  ),
  'evaluations:setCacheDir': channel(
    'Keep cached logits in another folder (null: the default <data dir>/cache/logits); the old folder is left as it is',
    z.object({ dir: z.string().min(1).nullable() }),
    CacheUsage,
  ),
  'evaluations:pruneCache': channel(
    'Delete least recently used cached logits until the cache holds at most maxBytes',
    z.object({ maxBytes: z.number().int().nonnegative() }),
    z.object({ removedFiles: z.number().int(), removedBytes: z.number().int(), usage: CacheUsage }),
  ),
};
