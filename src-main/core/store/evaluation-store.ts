import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { EvaluationRecord } from '../../common/api/evaluations.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { EvalOutcome } from '../inference/evaluator.js';

export type Evaluation = z.output<typeof EvaluationRecord>;

export interface ModelIdentity {
  hash: string;
  label: string;
  path: string | null;
  kind: 'ingredient' | 'soup';
}

interface Row {
  id: number;
  model_hash: string;
  model_label: string;
  model_path: string | null;
  model_kind: 'ingredient' | 'soup';
  evalset_hash: string;
  evalset_name: string;
  evalset_path: string;
  provider: string;
  ort_version: string;
  batch_size: number;
  threads: number | null;
  duration_ms: number;
  n: number;
  correct: number;
  top1: number;
  top5: number | null;
  nll: number | null;
  ece: number | null;
  non_finite: number;
  per_class: string;
  created_at: string;
}

function toRecord(row: Row): Evaluation {
  return {
    id: row.id,
    model: { hash: row.model_hash, label: row.model_label, path: row.model_path, kind: row.model_kind },
    evalset: { hash: row.evalset_hash, name: row.evalset_name, path: row.evalset_path },
    n: row.n,
    correct: row.correct,
    top1: row.top1,
    top5: row.top5,
    nll: row.nll,
    ece: row.ece,
    nonFinite: row.non_finite,
    perClass: JSON.parse(row.per_class) as Array<number | null>,
    provider: row.provider,
    ortVersion: row.ort_version,
    batchSize: row.batch_size,
    threads: row.threads,
    durationMs: row.duration_ms,
    createdAt: row.created_at,
    cached: false,
  };
}

/**
 * Store one evaluation. A cache hit keeps the provenance (duration, batch size) of the run that produced
 * the logits; a fresh run replaces it.
 */
export function saveEvaluation(
  db: Database,
  model: ModelIdentity,
  set: EvalSet,
  outcome: EvalOutcome,
  threads: number | null,
): Evaluation {
  const existing = db
    .prepare(
      'SELECT * FROM evaluations WHERE model_hash = ? AND evalset_hash = ? AND provider = ? AND ort_version = ?',
    )
    .get(model.hash, set.hash, outcome.provider, outcome.ortVersion) as Row | undefined;
  const m = outcome.metrics;
  if (existing && outcome.cached) {
    db.prepare(
      'UPDATE evaluations SET model_label = ?, model_path = ?, evalset_name = ?, evalset_path = ? WHERE id = ?',
    ).run(model.label, model.path, set.name, set.file, existing.id);
    return {
      ...toRecord(db.prepare('SELECT * FROM evaluations WHERE id = ?').get(existing.id) as Row),
      cached: true,
    };
  }
  const info = db
    .prepare(
      `INSERT INTO evaluations (model_hash, model_label, model_path, model_kind, evalset_hash, evalset_name, evalset_path,
         provider, ort_version, batch_size, threads, duration_ms, n, correct, top1, top5, nll, ece, non_finite, per_class, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model_hash, evalset_hash, provider, ort_version) DO UPDATE SET
         model_label = excluded.model_label, model_path = excluded.model_path, model_kind = excluded.model_kind,
         evalset_name = excluded.evalset_name, evalset_path = excluded.evalset_path, batch_size = excluded.batch_size,
         threads = excluded.threads, duration_ms = excluded.duration_ms, n = excluded.n, correct = excluded.correct,
         top1 = excluded.top1, top5 = excluded.top5, nll = excluded.nll, ece = excluded.ece,
         non_finite = excluded.non_finite, per_class = excluded.per_class, created_at = excluded.created_at
       RETURNING id`,
    )
    .get(
      model.hash,
      model.label,
      model.path,
      model.kind,
      set.hash,
      set.name,
      set.file,
      outcome.provider,
      outcome.ortVersion,
      outcome.batchSize,
      threads,
      outcome.durationMs,
      m.n,
      m.correct,
      m.top1,
      m.top5,
      m.nll,
      m.ece,
      m.nonFinite,
      JSON.stringify(m.perClass),
      new Date().toISOString(),
    ) as { id: number };
  return {
    ...toRecord(db.prepare('SELECT * FROM evaluations WHERE id = ?').get(info.id) as Row),
    cached: outcome.cached,
  };
}

/** Latest evaluation per (model path or hash, eval set), optionally filtered by model and eval-set paths. */
export function listEvaluations(
  db: Database,
  filter: { models?: readonly string[]; evalsets?: readonly string[] } = {},
): Evaluation[] {
  const rows = db.prepare('SELECT * FROM evaluations ORDER BY created_at DESC, id DESC').all() as Row[];
  const models = filter.models ? new Set(filter.models) : null;
  const evalsets = filter.evalsets ? new Set(filter.evalsets) : null;
  const seen = new Set<string>();
  const out: Evaluation[] = [];
  for (const row of rows) {
    if (models && !models.has(row.model_path ?? '') && !models.has(row.model_hash)) continue;
    if (evalsets && !evalsets.has(row.evalset_path) && !evalsets.has(row.evalset_hash)) continue;
    const key = `${row.model_path ?? row.model_hash}\0${row.evalset_hash}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(toRecord(row));
  }
  return out;
}
