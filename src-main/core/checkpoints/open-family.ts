import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { TureenError } from '../../common/errors.js';
import type { Precision } from './accumulator.js';
import { assertSoupFits } from './accumulator.js';
import { discover } from './discover.js';
import type { Family, Mismatch } from './families.js';
import { groupFamilies, parameterCount } from './families.js';
import type { Ingredient, OpenIngredientOptions } from './ingredient.js';
import { openIngredient } from './ingredient.js';
import { prefetchOnnx } from './onnx-file.js';

export interface OpenFamilyOptions {
  db?: Database | null;
  /** the ONNX graph for state dicts (else graph.onnx beside them or in a parent folder) */
  graph?: string;
  /** the family's base checkpoint, given by the user (else one found in a base/pretrained/zeroshot folder) */
  base?: string | null;
  /** which family to open when the inputs hold several: its number in the refusal's list, or its id */
  family?: string;
  /** PyTorch checkpoints: open the EMA weights instead of the raw ones (others are unaffected); 'prefer': where they exist */
  ema?: boolean | 'prefer';
  /** the family is opened to be cooked in this precision: a soup that cannot fit in memory is refused at
   *  once, before the ingredients are hashed (which reads them whole) */
  soup?: Precision;
}

/** The ingredients of a command: one family, its base, and paths relative to the folder given. */
export interface OpenedFamily {
  /** the folder paths are shown relative to (the first folder given, or the common parent of the files) */
  root: string;
  family: Family<Ingredient>;
  /** candidates, ordered by their path relative to `root` (code-unit order, as Python's sorted()) */
  members: Ingredient[];
  base: Ingredient | null;
  /** what was left out and why: unreadable files in the folders, other families, duplicates */
  skipped: string[];
  /** the family's warnings (folded BatchNorm, unmatched names, ...) and the files in the folders not read */
  warnings: string[];
  relative(file: string): string;
}

/** Code-unit order (what Python's sorted() does), independent of the user's locale. */
export function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function commonParent(files: readonly string[]): string {
  const parts = files.map((f) => path.dirname(f).split(path.sep));
  const first = parts[0] ?? [];
  let i = 0;
  while (i < first.length && parts.every((p) => p[i] === first[i])) i++;
  return first.slice(0, i).join(path.sep) || path.sep;
}

/** A file found in a folder (not named by the user): a failure to open it skips it instead of failing. */
interface Candidate {
  file: string;
  explicit: boolean;
}

function candidatesOf(inputs: readonly string[]): { candidates: Candidate[]; firstFolder: string | null } {
  const candidates: Candidate[] = [];
  let firstFolder: string | null = null;
  for (const input of inputs) {
    const absolute = path.resolve(input);
    if (!fs.existsSync(absolute))
      throw new TureenError('not_found', `${absolute} does not exist; check the path`, { file: absolute });
    if (fs.statSync(absolute).isDirectory()) {
      firstFolder ??= absolute;
      for (const c of discover(absolute).checkpoints) candidates.push({ file: c.path, explicit: false });
    } else candidates.push({ file: absolute, explicit: true });
  }
  const seen = new Set<string>();
  return {
    candidates: candidates.filter((c) => (seen.has(c.file) ? false : (seen.add(c.file), true))),
    firstFolder,
  };
}

function pickFamily(
  families: ReadonlyArray<Family<Ingredient>>,
  mismatches: readonly Mismatch[],
  wanted: string | undefined,
  relative: (file: string) => string,
  inputs: readonly string[],
): Family<Ingredient> {
  const listing = families.map((f, i) => {
    const all = [...f.members, ...(f.base ? [f.base] : [])].map((m) => relative(m.path)).sort(byPath);
    return { number: i + 1, id: f.id, members: all.length, first: all[0] ?? '' };
  });
  if (wanted !== undefined) {
    const byNumber = /^\d+$/.test(wanted) ? families[Number(wanted) - 1] : undefined;
    const byId = families.filter((f) => f.id.startsWith(wanted.toLowerCase()));
    const picked = byNumber ?? (byId.length === 1 ? byId[0] : undefined);
    if (picked) return picked;
    throw new TureenError(
      'bad_request',
      `--family ${wanted}: no such family; the inputs hold ${listing.map((l) => `${l.number} (${l.id})`).join(', ')}`,
      { families: listing },
    );
  }
  if (families.length === 1) return families[0]!;
  const lines = listing.map(
    (l) => `  ${l.number}. ${l.id}: ${l.members} checkpoint${l.members === 1 ? '' : 's'}, first ${l.first}`,
  );
  throw new TureenError(
    'family_mismatch',
    `${inputs.join(', ')} hold ${families.length} families of checkpoints that cannot be averaged together; pick one with --family <number>:\n` +
      `${lines.join('\n')}\n${mismatches.map((m) => m.message).join('\n')}`,
    { families: listing, mismatches },
  );
}

/**
 * Open checkpoint files and folders as one family: the one opener behind cook, eval, compare, similarity
 * and the advisor. Folders are searched with `discover()`; a checkpoint in a folder named base/pretrained/
 * zeroshot is the base, not a candidate, unless it is given as a file itself. A file found in a folder that
 * cannot be read is skipped with its reason; a file given by name that cannot be read fails the call.
 * Members are ordered by their path relative to the first folder given (DESIGN.md: ties by that path,
 * ascending). When the inputs hold several families the call fails listing them, unless `family` picks one.
 */
export async function openFamily(
  inputs: readonly string[],
  options: OpenFamilyOptions = {},
): Promise<OpenedFamily> {
  const { candidates, firstFolder } = candidatesOf(inputs);
  const common: OpenIngredientOptions = {
    db: options.db ?? null,
    ...(options.graph ? { graph: options.graph } : {}),
    ...(options.ema ? { ema: options.ema } : {}),
  };
  const unreadable: string[] = [];
  const opened: Ingredient[] = [];
  for (const c of candidates) {
    // opening reads each file's header or whole graph: an ONNX file is read ahead on libuv's threads, and
    // the serving thread answers between files
    if (c.file.toLowerCase().endsWith('.onnx')) await prefetchOnnx(c.file);
    else await new Promise((resolve) => setImmediate(resolve));
    if (c.explicit) {
      opened.push(openIngredient(c.file, { ...common, base: false }));
      continue;
    }
    try {
      opened.push(openIngredient(c.file, common));
    } catch (error) {
      if (!(error instanceof TureenError)) throw error;
      unreadable.push(`${c.file}: not read (${error.message.split('\n')[0]})`);
    }
  }
  const baseFile = options.base ? path.resolve(options.base) : null;
  if (baseFile && !opened.some((o) => o.path === baseFile))
    opened.push(openIngredient(baseFile, { ...common, base: true }));
  if (opened.length === 0) {
    throw new TureenError(
      'not_found',
      `no readable checkpoints (.onnx, .safetensors, PyTorch) in ${inputs.join(', ')}${unreadable.length ? `:\n${unreadable.join('\n')}` : ''}`,
      { unreadable },
    );
  }
  const root = firstFolder ?? commonParent(opened.map((o) => o.path));
  const relative = (file: string) => path.relative(root, file).split(path.sep).join('/');
  if (options.soup) for (const o of opened) assertSoupFits(parameterCount(o.tensors), options.soup, o.path);
  const report = await groupFamilies(opened, { base: baseFile, hashOf: (item) => item.sha256() });
  const family = pickFamily(report.families, report.mismatches, options.family, relative, inputs);
  const skipped = [...unreadable];
  for (const other of report.families) {
    if (other === family) continue;
    for (const m of [...other.members, ...(other.base ? [other.base] : [])])
      skipped.push(`${m.path}: not in family ${family.id} (it belongs to ${other.id})`);
  }
  skipped.push(
    ...family.duplicates.map((d) => `${d.duplicates.join(', ')}: same weights as ${d.kept}, counted once`),
  );
  return {
    root,
    family,
    members: [...family.members].sort((a, b) => byPath(relative(a.path), relative(b.path))),
    base: family.base,
    skipped,
    warnings: [...family.warnings.map((w) => w.message), ...unreadable],
    relative,
  };
}
