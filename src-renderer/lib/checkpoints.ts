/** The checkpoints table's rows: scan results joined with families (base, duplicates) and scores. */
import type { Checkpoint, EvalSet, Evaluation, Family } from './domain.js';
import { count } from './format.js';
import { shortRunNames } from './paths.js';

export interface CheckpointRow {
  id: string;
  name: string;
  path: string;
  format: string;
  family: string | null;
  hyperparameters: Record<string, unknown>;
  params: number | null;
  bytes: number | null;
  dtype: string | null;
  isBase: boolean;
  /** name of the checkpoint this one duplicates (same weights), if any */
  duplicateOf: string | null;
  /** why it could not be read */
  error: string | null;
  /** what the scan told about it (a pickle naming code-running globals, EMA weights beside the raw ones) */
  warnings: Array<{ code: string; label: string; message: string }>;
  /** top-1 per score column key (fractions), when evaluated */
  scores: Record<string, number | null>;
}

export interface ScoreColumn {
  key: string;
  label: string;
  title: string;
}

/** Score columns: the holdout set first, then the in-distribution test sets (shifts live in Evaluate). */
export function scoreColumns(sets: readonly EvalSet[]): ScoreColumn[] {
  // evalsets:list answers for every kitchen, and scores are looked up by set name (a checkpoint's
  // "holdout" is its own kitchen's): one column per name. Two demo kitchens both have holdout and test,
  // and a column per set gave two columns with one key, which stopped the whole table from rendering.
  const once = (list: readonly EvalSet[]) => [...new Map(list.map((s) => [s.name, s])).values()];
  const nOf = (name: string) => {
    const ns = new Set(sets.filter((s) => s.name === name).map((s) => s.n));
    return ns.size === 1 ? ` (N = ${count([...ns][0])})` : '';
  };
  const holdout = once(sets.filter((s) => s.role === 'holdout'));
  const held = new Set(holdout.map((s) => s.name));
  const id = once(sets.filter((s) => s.role === 'id' && !held.has(s.name)));
  return [
    ...holdout.map((s) => ({
      key: s.name,
      label: 'held-out',
      title: `Top-1 on the holdout set "${s.name}"${nOf(s.name)}`,
    })),
    ...id.map((s) => ({
      key: s.name,
      label: id.length > 1 ? s.name : 'test',
      title: `Top-1 on the id test set "${s.name}"${nOf(s.name)}`,
    })),
  ];
}

/** Short tag text per scan warning code; the message is the tooltip. */
const WARNING_LABELS: Record<string, string> = {
  pickle_globals: 'code in pickle',
  ema_weights: 'EMA too',
};

export function checkpointRows(
  checkpoints: readonly Checkpoint[],
  families: readonly Family[],
  evaluations: readonly Evaluation[],
  columns: readonly ScoreColumn[],
): CheckpointRow[] {
  const names = familyNames(families);
  const familyOf = new Map<string, string>();
  const duplicateOf = new Map<string, string>();
  for (const family of families) {
    for (const member of [...family.members, ...(family.base ? [family.base] : [])])
      familyOf.set(member, names.get(family.id)!);
    for (const d of family.duplicates) {
      for (const dup of d.duplicates) {
        duplicateOf.set(dup, d.kept);
        familyOf.set(dup, names.get(family.id)!);
      }
    }
  }
  const relative = new Map(checkpoints.map((c) => [c.path, c.relativePath]));
  const scores = new Map<string, Record<string, number | null>>();
  for (const e of evaluations) {
    if (!e.model.path) continue;
    const row = scores.get(e.model.path) ?? {};
    row[e.evalset.name] = e.top1;
    scores.set(e.model.path, row);
  }
  const short = shortRunNames(checkpoints.map((c) => displayName(c.relativePath)));
  const nameOf = (rel: string) => short.get(displayName(rel)) ?? displayName(rel);
  return checkpoints.map((c) => {
    const own = scores.get(c.path) ?? {};
    const kept = duplicateOf.get(c.path);
    return {
      id: String(c.id),
      name: nameOf(c.relativePath),
      path: c.path,
      format: c.format ?? 'unreadable',
      family: c.familyId ? (familyOf.get(c.path) ?? names.get(c.familyId) ?? c.familyId) : null,
      hyperparameters: c.hyperparameters,
      params: c.error ? null : c.params,
      bytes: c.bytes,
      dtype: c.dtype || null,
      isBase: c.isBase,
      duplicateOf: kept ? nameOf(relative.get(kept) ?? kept) : null,
      error: c.error?.message ?? null,
      warnings: c.warnings.map((w) => ({
        code: w.code,
        label: WARNING_LABELS[w.code] ?? w.code,
        message: w.message,
      })),
      scores: Object.fromEntries(columns.map((col) => [col.key, own[col.key] ?? null])),
    };
  });
}

/** "sweep/run-01_lr=1e-4/model.onnx" → "sweep/run-01_lr=1e-4": the run folder names the checkpoint. */
export function displayName(relativePath: string): string {
  return relativePath.replace(/\/model\.(onnx|safetensors)$/i, '');
}

/** A name per family: its folder label, numbered when several families share one folder. */
export function familyNames(families: readonly Pick<Family, 'id' | 'label'>[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const f of families) count.set(f.label, (count.get(f.label) ?? 0) + 1);
  const seen = new Map<string, number>();
  const out = new Map<string, string>();
  for (const f of families) {
    if ((count.get(f.label) ?? 0) < 2) {
      out.set(f.id, f.label);
      continue;
    }
    const k = (seen.get(f.label) ?? 0) + 1;
    seen.set(f.label, k);
    out.set(f.id, `${f.label} #${k}`);
  }
  return out;
}
