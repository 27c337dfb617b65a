import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { TureenError } from '../../common/errors.js';
import type { Family, Ingredient } from '../checkpoints/index.js';
import { groupFamilies, openIngredient } from '../checkpoints/index.js';
import { looksLikeEvalSet, readSafetensorsHeaderFile } from '../datasets/evalset.js';

/** Checkpoint files under a folder: .onnx (not graph.onnx), .safetensors state dicts, sharded indexes. */
export function findCheckpointFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    const indexed = new Set<string>();
    for (const entry of entries) {
      if (entry.name.endsWith('.safetensors.index.json')) {
        out.push(path.join(dir, entry.name));
        indexed.add(dir);
      }
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.onnx') && entry.name !== 'graph.onnx') out.push(full);
      else if (entry.name.endsWith('.safetensors') && !indexed.has(dir)) {
        const header = readSafetensorsHeaderFile(full);
        if (header && !looksLikeEvalSet(header.tensors)) out.push(full);
      }
    }
  };
  walk(folder);
  return out;
}

/** The ingredients of a command: the family they form, its base, and paths relative to the folder given. */
export interface Sweep {
  /** the folder paths are shown relative to (the first folder given, or the common parent of the files) */
  root: string;
  family: Family<Ingredient>;
  /** candidates in path order (the base only when it was given explicitly as a file) */
  members: Ingredient[];
  base: Ingredient | null;
  /** ingredients that could not join the family, with the reason */
  skipped: string[];
  relative(file: string): string;
}

function commonParent(files: readonly string[]): string {
  const parts = files.map((f) => path.dirname(f).split(path.sep));
  const first = parts[0] ?? [];
  let i = 0;
  while (i < first.length && parts.every((p) => p[i] === first[i])) i++;
  return first.slice(0, i).join(path.sep) || path.sep;
}

/**
 * Open checkpoint files and folders as one family. Folders are scanned; a checkpoint in a folder named
 * base/pretrained/zeroshot is the family's base and not a candidate, unless it is given as a file itself.
 */
export async function openSweep(
  inputs: readonly string[],
  options: { db?: Database | null; base?: string | null } = {},
): Promise<Sweep> {
  const files: string[] = [];
  const explicitFiles = new Set<string>();
  let root: string | null = null;
  for (const input of inputs) {
    const absolute = path.resolve(input);
    if (!fs.existsSync(absolute))
      throw new TureenError('not_found', `${absolute} does not exist; check the path`, { file: absolute });
    if (fs.statSync(absolute).isDirectory()) {
      root ??= absolute;
      files.push(...findCheckpointFiles(absolute));
    } else {
      files.push(absolute);
      explicitFiles.add(absolute);
    }
  }
  const unique = [...new Set(files)];
  if (unique.length === 0)
    throw new TureenError('not_found', `no checkpoints (.onnx, .safetensors) in ${inputs.join(', ')}`);
  root ??= commonParent(unique);
  const opened = unique.map((file) =>
    openIngredient(file, { db: options.db ?? null, ...(explicitFiles.has(file) ? { base: false } : {}) }),
  );
  const report = await groupFamilies(opened, { base: options.base ?? null, hashOf: (item) => item.sha256() });
  const family = report.families[0];
  if (!family) throw new TureenError('not_found', `no checkpoints in ${inputs.join(', ')}`);
  const skipped = [
    ...report.mismatches.map((m) => m.message),
    ...family.duplicates.map((d) => `${d.duplicates.join(', ')}: same weights as ${d.kept}, counted once`),
  ];
  const relative = (file: string) => path.relative(root!, file).split(path.sep).join('/');
  return {
    root,
    family,
    members: [...family.members].sort((a, b) => byPath(relative(a.path), relative(b.path))),
    base: family.base,
    skipped,
    relative,
  };
}

/** Code-unit order (what Python's sorted() does), independent of the user's locale. */
export function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
