import { z } from 'zod';
import { channel, jobChannel } from '../contract.js';

export const EvalRole = z.enum(['holdout', 'id', 'shift']);

export const EvalSetSummary = z.object({
  path: z.string(),
  /** tureen.name, else the file stem; two sets with one name are an error where both are used */
  name: z.string(),
  /** the effective role: set in the app (SQLite) wins over the file's tureen.role */
  role: EvalRole.nullable(),
  roleSource: z.enum(['app', 'file']).nullable(),
  n: z.number().int(),
  /** sha256 over tensors, transform and class subset (not name or role) */
  hash: z.string(),
  inputs: z.array(z.object({ name: z.string(), dtype: z.string(), shape: z.array(z.number().int()) })),
  transform: z.record(z.string(), z.unknown()),
  classSubset: z.array(z.number().int()).nullable(),
  /** count of each label value 0..max */
  labelHistogram: z.array(z.number().int()),
  bytes: z.number().int(),
});

export const LeakageWarning = z.object({
  /** eval-set names; the paths tell sets of the same name in different kitchens apart */
  holdout: z.string(),
  holdoutPath: z.string(),
  other: z.string(),
  otherPath: z.string(),
  role: z.string(),
  /** distinct holdout examples also present in the other set (hash per example over its inputs) */
  shared: z.number().int(),
  examples: z.array(z.number().int()),
  message: z.string(),
});

const PixelSide = z.number().int().min(1).max(16384);

/** `tureen data import` and the Eval sets view's "Import image folder…" (docs/cli.md, data import). */
export const EvalSetImportRequest = z.object({
  /** one subfolder per class (torchvision ImageFolder layout) */
  folder: z.string().min(1),
  /** the .safetensors eval set to write */
  out: z.string().min(1),
  name: z.string().min(1).optional(),
  role: EvalRole.optional(),
  /** Resize(size): the shorter side becomes size */
  size: PixelSide.optional(),
  /** CenterCrop(crop) */
  crop: PixelSide.optional(),
  channels: z.union([z.literal(1), z.literal(3)]).optional(),
  mean: z.array(z.number()).min(1).max(3).optional(),
  std: z.array(z.number()).min(1).max(3).optional(),
  /** the model input's name (default "image") */
  input: z.string().min(1).optional(),
  /** a file with one class folder name per line, in label order */
  classes: z.string().min(1).optional(),
  /** a Hugging Face preprocessor_config.json or a timm pretrained config JSON */
  preprocess: z.string().min(1).optional(),
  /** refuse on the first broken file instead of skipping it */
  strict: z.boolean().optional(),
  /** decoder threads (default: one per core) */
  workers: z.number().int().min(0).max(256).optional(),
});

/** The result of an import job (jobs:get → result). */
export const EvalSetImportResult = z.object({
  path: z.string(),
  name: z.string(),
  role: EvalRole.nullable(),
  source: z.string(),
  n: z.number().int(),
  input: z.string(),
  shape: z.array(z.number().int()),
  classes: z.array(z.string()),
  classSubset: z.array(z.number().int()).nullable(),
  transform: z.record(z.string(), z.unknown()),
  options: z.record(z.string(), z.unknown()),
  /** files and folders left out, with the reason */
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  /** the eval-set hash; null for sets above 2 GiB */
  hash: z.string().nullable(),
  bytes: z.number().int(),
  seconds: z.number(),
});

export const evalsetsApi = {
  'evalsets:list': channel(
    'Eval sets (safetensors with labels) in a folder, or in every registered kitchen; with leakage warnings (holdout examples found in id/shift sets)',
    z.object({ folder: z.string().min(1).optional() }),
    z.object({ evalsets: z.array(EvalSetSummary), leakage: z.array(LeakageWarning) }),
  ),
  'evalsets:inspect': channel(
    'One eval set: N, inputs, label histogram, role, transform',
    z.object({ path: z.string().min(1) }),
    EvalSetSummary,
  ),
  'evalsets:setRole': channel(
    'Set (or with null clear) the role of an eval set in the app; it wins over tureen.role in the file',
    z.object({ path: z.string().min(1), role: EvalRole.nullable() }),
    EvalSetSummary,
  ),
  'evalsets:import': jobChannel(
    'Import an image folder (one subfolder per class) as an eval set: a job with progress in images; its result is EvalSetImportResult',
    EvalSetImportRequest,
    EvalSetImportResult,
  ),
};
