import { z } from 'zod';
import { FamilyPick } from './family-pick.js';
import { channel, event, jobChannel } from '../contract.js';
import { CookOutputFile, Recipe } from './recipes.js';

const ErrorInfo = z.object({ code: z.string(), message: z.string(), detail: z.unknown().optional() });
const HyperparameterValue = z.union([z.number(), z.string(), z.boolean()]);

/** One checkpoint found by a scan (a row of the checkpoints table). */
export const CheckpointSummary = z.object({
  id: z.number().int(),
  kitchenId: z.number().int().nullable(),
  /** the folder that was scanned */
  root: z.string(),
  path: z.string(),
  /** path relative to root, with forward slashes */
  relativePath: z.string(),
  format: z.enum(['onnx', 'safetensors', 'pytorch']).nullable(),
  bytes: z.number(),
  /** floating-point parameters (elements of float tensors) */
  params: z.number(),
  /** the dtype of most parameters (f32, f16, bf16, f64), '' when unreadable */
  dtype: z.string(),
  familyId: z.string().nullable(),
  isBase: z.boolean(),
  sha256: z.string().nullable(),
  graphPath: z.string().nullable(),
  hyperparameters: z.record(z.string(), HyperparameterValue),
  /** where the hyperparameters came from: folder names and sidecar files */
  hyperparameterSources: z.array(z.string()),
  /** why the checkpoint could not be read (then format may be null) */
  error: ErrorInfo.nullable(),
  /**
   * what the scan tells about a readable checkpoint besides its tensors: `pickle_globals` (its pickle names
   * code-running globals, listed in `globals`; never run) and `ema_weights` (EMA beside the raw weights)
   */
  warnings: z.array(
    z.object({
      code: z.enum(['pickle_globals', 'ema_weights']),
      message: z.string(),
      globals: z.array(z.string()).optional(),
    }),
  ),
  scannedAt: z.string(),
});

export const FamilyWarningSchema = z.object({
  code: z.string(),
  message: z.string(),
  tensors: z.array(z.string()).optional(),
  paths: z.array(z.string()).optional(),
});

export const FamilySummary = z.object({
  id: z.string(),
  root: z.string(),
  kitchenId: z.number().int().nullable(),
  label: z.string(),
  graphPath: z.string().nullable(),
  params: z.number(),
  tensorCount: z.number().int(),
  /** ingredient paths (base and duplicates excluded) */
  members: z.array(z.string()),
  base: z.string().nullable(),
  duplicates: z.array(z.object({ kept: z.string(), duplicates: z.array(z.string()), sha256: z.string() })),
  warnings: z.array(FamilyWarningSchema),
});

export const MismatchSchema = z.object({
  path: z.string(),
  comparedWith: z.string(),
  familyId: z.string(),
  message: z.string(),
  details: z.array(
    z.object({ kind: z.string(), message: z.string(), tensors: z.array(z.string()).optional() }),
  ),
});

export const ScanResult = z.object({
  root: z.string(),
  kitchenId: z.number().int().nullable(),
  checkpoints: z.array(CheckpointSummary),
  families: z.array(FamilySummary),
  mismatches: z.array(MismatchSchema),
  /** files that look like training output but are not checkpoints (training state, FIFOs, ...), with the reason */
  ignored: z.array(z.object({ path: z.string(), reason: z.string() })),
  /** safetensors eval sets found beside the checkpoints */
  evalSets: z.array(z.string()),
  stats: z.object({
    read: z.number().int(),
    reused: z.number().int(),
    removed: z.number().int(),
    failed: z.number().int(),
  }),
});

export const SimilarityResult = z.object({
  paths: z.array(z.string()),
  base: z.string().nullable(),
  taskVectors: z.boolean(),
  parameters: z.number(),
  norms: z.array(z.number()),
  cosine: z.array(z.array(z.number())),
  angleDegrees: z.array(z.array(z.number())),
  l2: z.array(z.array(z.number())),
});

/** What a replayed recipe file answers: the recipe as recorded, the soups written and whether they match. */
export const ReplayResult = z.object({
  recipe: Recipe,
  outputs: z.array(CookOutputFile),
  recipeFiles: z.array(z.string()),
  warnings: z.array(z.string()),
  /** per output: whether its sha256 equals the one the recipe recorded (null when it recorded none) */
  reproduced: z.array(
    z.object({
      path: z.string(),
      sha256: z.string(),
      recorded: z.string().nullable(),
      same: z.boolean().nullable(),
    }),
  ),
});

const Scope = z.object({
  /** one registered kitchen; without it and without paths: every kitchen */
  kitchenId: z.number().int().positive().optional(),
  /** folders to scan (outside serve mode they need not be registered) */
  paths: z.array(z.string().min(1)).optional(),
});

export const checkpointsApi = {
  'checkpoints:scan': jobChannel(
    'Scan folders (or kitchens) for checkpoints, hyperparameters and families; a rescan reads only changed files (job; result ScanResult per root: {scans: ScanResult[]})',
    Scope,
    z.object({ scans: z.array(ScanResult) }),
  ),
  'checkpoints:list': channel(
    'Checkpoints of the last scan, by kitchen or folder',
    Scope,
    z.object({ checkpoints: z.array(CheckpointSummary) }),
  ),
  'checkpoints:families': channel(
    'Families (what can be averaged together), duplicates, warnings and mismatch reports of the last scan',
    Scope,
    z.object({ families: z.array(FamilySummary), mismatches: z.array(MismatchSchema) }),
  ),
  'checkpoints:replay': jobChannel(
    'Cook a recipe file again; refuses ingredients whose sha256 changed (job; result ReplayResult: the recipe as recorded, the outputs written and whether each reproduced the recorded hash)',
    z.object({
      recipe: z.string().min(1),
      outputs: z.array(z.string().min(1)).optional(),
      graph: z.string().min(1).optional(),
    }),
    ReplayResult,
  ),
  'checkpoints:similarity': jobChannel(
    'Pairwise cosine, angle and L2 of task vectors against a base (without a base: of the weights) (job; result SimilarityResult)',
    z.object({
      ingredients: z.array(z.string().min(1)).min(1),
      base: z.string().min(1).optional(),
      graph: z.string().min(1).optional(),
      ...FamilyPick,
    }),
    SimilarityResult.extend({ warnings: z.array(z.string()) }),
  ),
};

export const checkpointsEvents = {
  'checkpoints:changed': event(
    'A scan stored new checkpoint or family data',
    z.object({ root: z.string(), kitchenId: z.number().int().nullable() }),
  ),
};
