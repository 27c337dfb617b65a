import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type {
  CheckpointSummary,
  FamilySummary,
  MismatchSchema,
  ScanResult,
} from '../../common/api/checkpoints.js';
import { toErrorInfo } from '../../common/errors.js';
import type { FileStamp } from './hashing.js';
import { stampOf } from './hashing.js';
import type { IgnoredFile } from './discover.js';
import { discover } from './discover.js';
import type { Family } from './families.js';
import { groupFamilies, parameterCount } from './families.js';
import { hyperparametersOf } from './hyperparameters.js';
import type { IngredientSummary } from './ingredient.js';
import { openIngredient } from './ingredient.js';
import { pickleNotices } from './torch/notices.js';
import type { CheckpointRow, Scope } from '../store/checkpoint-store.js';
import {
  checkpointWriter,
  checkpointsIn,
  checkpointsUnder,
  deleteCheckpoints,
  scanReportsIn,
  storeScanReport,
  touchCheckpoint,
} from '../store/checkpoint-store.js';

type Checkpoint = z.output<typeof CheckpointSummary>;
type FamilyOut = z.output<typeof FamilySummary>;
type MismatchOut = z.output<typeof MismatchSchema>;
type Scan = z.output<typeof ScanResult>;

/** The code the PyTorch reader gives a pickle that holds no state dict (optimizer state, a tokenizer, ...). */
const NOT_A_MODEL = 'not_a_model';

function isNotAModel(error: unknown): error is Error {
  return error instanceof Error && (error as { code?: unknown }).code === NOT_A_MODEL;
}

interface StoredHyperparameters {
  values: Record<string, number | string | boolean>;
  sources: string[];
}

export interface ScanOptions {
  kitchenId?: number | null;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void;
}

/** The dtype most float parameters have. */
export function dominantDType(summary: IngredientSummary): string {
  const counts = new Map<string, number>();
  for (const t of summary.tensors)
    if (t.isFloat) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + t.byteLength);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

function unchanged(stored: FileStamp[], file: string): boolean {
  if (stored.length === 0 || stored[0]!.path !== file) return false;
  try {
    return stored.every((s) => {
      const now = stampOf(s.path);
      return now.size === s.size && now.mtimeMs === s.mtimeMs;
    });
  } catch {
    return false;
  }
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  const hp = JSON.parse(row.hyperparameters) as StoredHyperparameters;
  const summary = row.summary ? (JSON.parse(row.summary) as IngredientSummary) : null;
  return {
    id: row.id,
    kitchenId: row.kitchen_id,
    root: row.root,
    path: row.path,
    relativePath: path.relative(row.root, row.path).split(path.sep).join('/'),
    format: (row.format as Checkpoint['format']) ?? null,
    bytes: row.bytes,
    params: row.params,
    dtype: row.dtype,
    familyId: row.family_id,
    isBase: row.is_base === 1,
    sha256: row.sha256,
    graphPath: summary?.graphPath ?? null,
    hyperparameters: hp.values,
    hyperparameterSources: hp.sources,
    error: row.error ? (JSON.parse(row.error) as Checkpoint['error']) : null,
    // from the stored summary, so checkpoints scanned before warnings existed get them too
    warnings: summary
      ? pickleNotices(summary).map(({ code, message, globals }) => ({
          code,
          message,
          ...(globals ? { globals } : {}),
        }))
      : [],
    scannedAt: row.scanned_at,
  };
}

export function familyOut(family: Family, root: string, kitchenId: number | null): FamilyOut {
  return {
    id: family.id,
    root,
    kitchenId,
    label: family.label,
    graphPath: family.graphPath,
    params: family.params,
    tensorCount: family.tensors.length,
    members: family.members.map((m) => m.path),
    base: family.base?.path ?? null,
    duplicates: family.duplicates,
    warnings: family.warnings,
  };
}

/** What a scan stores beside the checkpoint rows (the scan_reports table). */
interface StoredScanReport {
  families: FamilyOut[];
  mismatches: MismatchOut[];
  ignored: IgnoredFile[];
  evalSets: string[];
}

/**
 * Scan a folder: find checkpoints, read the ones that are new or changed (by size and mtime of every
 * file they consist of), hash them (cached), read hyperparameters, group families, store it all. A file that
 * cannot be read is stored with its reason (no format, no family) and the scan goes on; a pickle that holds
 * no model is listed as ignored. A folder that does not exist fails the scan.
 */
export async function scanFolder(db: Database, folder: string, options: ScanOptions = {}): Promise<Scan> {
  const root = path.resolve(folder);
  const kitchenId = options.kitchenId ?? null;
  const found = discover(root);
  const ignored = [...found.ignored];
  const existing = new Map(checkpointsUnder(db, root).map((r) => [r.path, r]));
  const now = new Date().toISOString();
  const upsert = checkpointWriter(db);
  const stats = { read: 0, reused: 0, removed: 0, failed: 0 };
  const present = new Set<string>();
  const total = found.checkpoints.length;
  for (const [i, { path: file }] of found.checkpoints.entries()) {
    options.signal?.throwIfAborted();
    options.progress?.(i, total, path.relative(root, file));
    const hp = hyperparametersOf(file, root);
    const hyperparameters = JSON.stringify({
      values: hp.values,
      sources: hp.sources,
    } satisfies StoredHyperparameters);
    const old = existing.get(file);
    if (old && !old.error && unchanged(JSON.parse(old.stamps) as FileStamp[], file)) {
      touchCheckpoint(db, old.id, hyperparameters, kitchenId);
      present.add(file);
      stats.reused++;
      continue;
    }
    try {
      const ingredient = openIngredient(file, { db });
      const sha256 = await ingredient.sha256(options.signal);
      const summary = ingredient.summary();
      upsert({
        root,
        kitchen_id: kitchenId,
        path: file,
        format: summary.format,
        bytes: summary.bytes,
        params: parameterCount(summary.tensors),
        dtype: dominantDType(summary),
        is_base: summary.isBase ? 1 : 0,
        sha256,
        hyperparameters,
        summary: JSON.stringify(summary),
        stamps: JSON.stringify(summary.files),
        error: null,
        scanned_at: now,
      });
      present.add(file);
      stats.read++;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      if (isNotAModel(error)) {
        ignored.push({ path: file, reason: error.message });
        continue;
      }
      upsert({
        root,
        kitchen_id: kitchenId,
        path: file,
        format: null,
        bytes: sizeOrZero(file),
        params: 0,
        dtype: '',
        is_base: 0,
        sha256: null,
        hyperparameters,
        summary: null,
        stamps: '[]',
        error: JSON.stringify(toErrorInfo(error)),
        scanned_at: now,
      });
      present.add(file);
      stats.failed++;
    }
  }
  const gone = [...existing].filter(([file]) => !present.has(file)).map(([, row]) => row.id);
  deleteCheckpoints(db, gone);
  stats.removed += gone.length;
  const rows = checkpointsUnder(db, root);
  const readable = rows.filter((r) => r.summary !== null);
  const summaries = readable.map((r) => ({
    ...(JSON.parse(r.summary!) as IngredientSummary),
    sha256: r.sha256,
  }));
  const report = await groupFamilies(summaries, { hashOf: (s) => s.sha256 });
  const familyOf = new Map<string, string>();
  for (const f of report.families) {
    for (const m of [...f.members, ...(f.base ? [f.base] : [])]) familyOf.set(m.path, f.id);
    for (const d of f.duplicates) for (const p of d.duplicates) familyOf.set(p, f.id);
  }
  const stored: StoredScanReport = {
    families: report.families.map((f) => familyOut(f, root, kitchenId)),
    mismatches: report.mismatches,
    ignored: ignored.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    evalSets: found.evalSets,
  };
  storeScanReport(db, {
    root,
    kitchenId,
    families: rows.map((r) => ({ id: r.id, familyId: familyOf.get(r.path) ?? null })),
    report: stored,
    scannedAt: now,
  });
  options.progress?.(total, total, 'scanned');
  const checkpoints = checkpointsUnder(db, root).map(toCheckpoint);
  return { root, kitchenId, checkpoints, ...stored, stats };
}

function sizeOrZero(file: string): number {
  try {
    return stampOf(file).size;
  } catch {
    return 0; // vanished during the scan
  }
}

export function listCheckpoints(db: Database, scope: Scope = {}): Checkpoint[] {
  return checkpointsIn(db, scope).map(toCheckpoint);
}

export function listFamilies(
  db: Database,
  scope: Scope = {},
): { families: FamilyOut[]; mismatches: MismatchOut[] } {
  const families: FamilyOut[] = [];
  const mismatches: MismatchOut[] = [];
  for (const text of scanReportsIn(db, scope)) {
    const report = JSON.parse(text) as { families: FamilyOut[]; mismatches: MismatchOut[] };
    families.push(...report.families);
    mismatches.push(...report.mismatches);
  }
  return { families, mismatches };
}
