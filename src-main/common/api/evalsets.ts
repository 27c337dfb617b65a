import { z } from 'zod';
import { channel } from '../contract.js';

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
};
