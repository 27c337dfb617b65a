/** Builds the evaluation matrix (model × eval set) from stored evaluation records. */
import type { Evaluation, EvalSet } from './domain.js';
import { shortRunNames } from './paths.js';

interface MatrixModelRow {
  id: string;
  label: string;
  path: string | null;
  kind: 'base' | 'ingredient' | 'soup';
}

export interface MatrixData {
  models: MatrixModelRow[];
  sets: Array<{ name: string; role: string; n: number | null; path: string | null }>;
  cells: Map<string, { top1: number | null; n: number | null; cached: boolean }>;
}

const BASE_FOLDERS = new Set(['base', 'pretrained', 'zeroshot', 'zero-shot', 'zero_shot']);
const ROLE_ORDER: Record<string, number> = { holdout: 0, id: 1, shift: 2 };

/** A checkpoint in a folder named base / pretrained / zeroshot is the sweep's starting point. */
export function isBasePath(path: string | null): boolean {
  if (!path) return false;
  const parts = path.split(/[\\/]/);
  return BASE_FOLDERS.has((parts[parts.length - 2] ?? '').toLowerCase());
}

export function matrixKey(modelId: string, setName: string): string {
  return `${modelId}\u0000${setName}`;
}

/**
 * Stored rows do not know whether a run read them from the logits cache; keep the flag a run reported for
 * the same row as long as the row has not been recomputed since (same id and creation time).
 */
export function keepCachedFlags(next: readonly Evaluation[], previous: readonly Evaluation[]): Evaluation[] {
  const cached = new Map(previous.filter((r) => r.cached === true).map((r) => [r.id, r.createdAt]));
  return next.map((r) => (cached.get(r.id) === r.createdAt ? { ...r, cached: true } : r));
}

/**
 * Rows: base first, then ingredients in natural order of label, then soups. Columns: the eval sets known
 * (holdout, id, shift order), plus any set that only appears in records. A cell is marked cached when its
 * record says the run served it from the logits cache.
 */
export function buildMatrix(
  records: readonly Evaluation[],
  sets: readonly EvalSet[],
  nameOf: (model: Evaluation['model']) => string = (model) => model.label,
): MatrixData {
  const models = new Map<string, MatrixModelRow>();
  const cells = new Map<string, { top1: number | null; n: number | null; cached: boolean }>();
  const columns = new Map<string, { name: string; role: string; n: number | null; path: string | null }>();
  for (const set of sets)
    columns.set(set.name, { name: set.name, role: set.role ?? 'none', n: set.n, path: set.path });
  for (const record of records) {
    const id = record.model.hash;
    if (!models.has(id)) {
      const kind =
        record.model.kind === 'soup' ? 'soup' : isBasePath(record.model.path) ? 'base' : 'ingredient';
      models.set(id, { id, label: nameOf(record.model), path: record.model.path, kind });
    }
    if (!columns.has(record.evalset.name)) {
      columns.set(record.evalset.name, {
        name: record.evalset.name,
        role: 'none',
        n: record.n,
        path: record.evalset.path,
      });
    }
    cells.set(matrixKey(id, record.evalset.name), {
      top1: record.top1,
      n: record.n,
      cached: record.cached === true,
    });
  }
  const kindOrder = { base: 0, ingredient: 1, soup: 2 };
  const collator = new Intl.Collator('en', { numeric: true });
  const short = shortRunNames([...models.values()].map((m) => m.label));
  for (const m of models.values()) m.label = short.get(m.label) ?? m.label;
  return {
    models: [...models.values()].sort(
      (a, b) => kindOrder[a.kind] - kindOrder[b.kind] || collator.compare(a.label, b.label),
    ),
    sets: [...columns.values()].sort(
      (a, b) => (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3) || collator.compare(a.name, b.name),
    ),
    cells,
  };
}
