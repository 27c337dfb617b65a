import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { EvalSetSummary } from '../../common/api/evalsets.js';
import { TureenError } from '../../common/errors.js';
import type { EvalRole, EvalSet } from './evalset.js';
import { discover } from '../checkpoints/discover.js';
import { readEvalSet, readEvalSetAsync } from './evalset.js';
import { appRole } from '../store/evalset-store.js';

export type EvalSetInfo = z.output<typeof EvalSetSummary>;

/** An eval set with the role that applies to it (the app's role wins over the file's). */
export interface RoledEvalSet {
  set: EvalSet;
  role: EvalRole | null;
  roleSource: 'app' | 'file' | null;
}

const sets = new Map<string, { stamp: string; set: EvalSet }>();

function stampOf(absolute: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch {
    throw new TureenError('not_found', `eval set ${absolute} does not exist; check the path`, {
      file: absolute,
    });
  }
  return `${stat.size}:${stat.mtimeMs}`;
}

function remember(absolute: string, stamp: string, set: EvalSet): EvalSet {
  sets.set(absolute, { stamp, set });
  if (sets.size > 16) sets.delete(sets.keys().next().value as string);
  return set;
}

/** Read an eval set, reusing the parsed file while its size and mtime are unchanged. */
export function loadEvalSet(file: string): EvalSet {
  const absolute = path.resolve(file);
  const stamp = stampOf(absolute);
  const hit = sets.get(absolute);
  if (hit && hit.stamp === stamp) return hit.set;
  return remember(absolute, stamp, readEvalSet(absolute));
}

/** Reads in flight, so two requests for one uncached file hash it once. */
const reading = new Map<string, { stamp: string; set: Promise<EvalSet> }>();

/**
 * loadEvalSet for a thread that serves requests (the app's main process, `tureen serve`): the first read of
 * a large set hashes it without holding the thread (readEvalSetAsync); later calls hit the same cache.
 */
export async function loadEvalSetAsync(file: string): Promise<EvalSet> {
  const absolute = path.resolve(file);
  const stamp = stampOf(absolute);
  const hit = sets.get(absolute);
  if (hit && hit.stamp === stamp) return hit.set;
  const pending = reading.get(absolute);
  if (pending && pending.stamp === stamp) return pending.set;
  const set = readEvalSetAsync(absolute).then((read) => remember(absolute, stamp, read));
  reading.set(absolute, { stamp, set });
  try {
    return await set;
  } finally {
    if (reading.get(absolute)?.set === set) reading.delete(absolute);
  }
}

export function withRole(db: Database | null, set: EvalSet): RoledEvalSet {
  const fromApp = db ? appRole(db, set.file) : null;
  if (fromApp) return { set, role: fromApp, roleSource: 'app' };
  return { set, role: set.fileRole, roleSource: set.fileRole ? 'file' : null };
}

export function summarize(roled: RoledEvalSet): EvalSetInfo {
  const { set } = roled;
  const histogram: number[] = [];
  for (const label of set.labels) histogram[label] = (histogram[label] ?? 0) + 1;
  return {
    path: set.file,
    name: set.name,
    role: roled.role,
    roleSource: roled.roleSource,
    n: set.n,
    hash: set.hash,
    inputs: set.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape })),
    transform: set.transforms,
    classSubset: set.classSubset,
    labelHistogram: Array.from(histogram, (c) => c ?? 0),
    bytes: set.bytes,
  };
}

/** Names must be unique among the sets used together: they key the results. */
export function checkUniqueNames(list: readonly EvalSet[]): void {
  const seen = new Map<string, string>();
  for (const set of list) {
    const other = seen.get(set.name);
    if (other && other !== set.file) {
      throw new TureenError(
        'bad_evalset',
        `two eval sets are named "${set.name}" (${other} and ${set.file}); give one another tureen.name`,
        { name: set.name, files: [other, set.file] },
      );
    }
    seen.set(set.name, set.file);
  }
}

export interface EvalPlan {
  holdout: RoledEvalSet | null;
  /** id sets first, then shift sets, each in file order */
  others: RoledEvalSet[];
}

/**
 * The eval sets of a command: --holdout and --eval when given, else found in the folders by role (exactly
 * one holdout when one is required; any id and shift sets).
 */
export function planEvalSets(
  db: Database | null,
  options: {
    folders: readonly string[];
    holdout?: string | undefined;
    evals?: readonly string[] | undefined;
    requireHoldout: boolean;
  },
): EvalPlan {
  // Whatever is not named explicitly is found in the folders by role.
  const found =
    options.holdout && options.evals?.length
      ? []
      : options.folders
          .filter((f) => fs.existsSync(f) && fs.statSync(f).isDirectory())
          .flatMap((folder) => discover(folder).evalSets)
          .map((file) => withRole(db, loadEvalSet(file)));
  let holdout: RoledEvalSet | null;
  if (options.holdout) {
    holdout = { ...withRole(db, loadEvalSet(options.holdout)), role: 'holdout' };
  } else {
    const holdouts = found.filter((f) => f.role === 'holdout');
    if (holdouts.length > 1) {
      throw new TureenError(
        'bad_evalset',
        `several holdout eval sets found (${holdouts.map((h) => h.set.file).join(', ')}); pick one with --holdout`,
        { files: holdouts.map((h) => h.set.file) },
      );
    }
    holdout = holdouts[0] ?? null;
  }
  let others: RoledEvalSet[] = options.evals?.length
    ? options.evals
        .map((file) => withRole(db, loadEvalSet(file)))
        .map((o): RoledEvalSet => (o.role === 'holdout' || o.role === null ? { ...o, role: 'id' } : o))
    : found.filter((f) => f.role === 'id' || f.role === 'shift');
  if (options.requireHoldout && !holdout) {
    throw new TureenError(
      'bad_evalset',
      `no holdout eval set: pass --holdout <file>, or put a .safetensors eval set with tureen.role "holdout" in ${options.folders.join(', ')}`,
    );
  }
  const rank = (r: RoledEvalSet) => (r.role === 'id' ? 0 : 1);
  others = others
    .filter((o) => !holdout || o.set.file !== holdout.set.file)
    .sort((a, b) => rank(a) - rank(b));
  checkUniqueNames([...(holdout ? [holdout.set] : []), ...others.map((o) => o.set)]);
  return { holdout, others };
}
