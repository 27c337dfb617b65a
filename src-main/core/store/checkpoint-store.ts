import path from 'node:path';
import type { Database } from 'better-sqlite3';

/** A row of the checkpoints table (JSON columns as text; the scan parses them). */
export interface CheckpointRow {
  id: number;
  root: string;
  kitchen_id: number | null;
  path: string;
  format: string | null;
  bytes: number;
  params: number;
  dtype: string;
  family_id: string | null;
  is_base: number;
  sha256: string | null;
  hyperparameters: string;
  summary: string | null;
  stamps: string;
  error: string | null;
  scanned_at: string;
}

/** What a scan writes for one checkpoint (the family is set afterwards, for the whole root at once). */
export type CheckpointWrite = Omit<CheckpointRow, 'id' | 'family_id'>;

/** Which stored scans a listing covers: one kitchen, some roots, or everything. */
export interface Scope {
  kitchenId?: number | undefined;
  paths?: string[] | undefined;
}

/** The stored checkpoints under one scanned root, by path. */
export function checkpointsUnder(db: Database, root: string): CheckpointRow[] {
  return db.prepare('SELECT * FROM checkpoints WHERE root = ? ORDER BY path').all(root) as CheckpointRow[];
}

/** Keep an unchanged checkpoint, with the hyperparameters and kitchen read this time. */
export function touchCheckpoint(
  db: Database,
  id: number,
  hyperparameters: string,
  kitchenId: number | null,
): void {
  db.prepare('UPDATE checkpoints SET hyperparameters = ?, kitchen_id = ? WHERE id = ?').run(
    hyperparameters,
    kitchenId,
    id,
  );
}

/** A writer that inserts or replaces checkpoints by (root, path); prepared once for a whole scan. */
export function checkpointWriter(db: Database): (row: CheckpointWrite) => void {
  const upsert = db.prepare(`
    INSERT INTO checkpoints (root, kitchen_id, path, format, bytes, params, dtype, family_id, is_base, sha256, hyperparameters, summary, stamps, error, scanned_at)
    VALUES (@root, @kitchen_id, @path, @format, @bytes, @params, @dtype, NULL, @is_base, @sha256, @hyperparameters, @summary, @stamps, @error, @scanned_at)
    ON CONFLICT(root, path) DO UPDATE SET kitchen_id = excluded.kitchen_id, format = excluded.format, bytes = excluded.bytes,
      params = excluded.params, dtype = excluded.dtype, is_base = excluded.is_base, sha256 = excluded.sha256,
      hyperparameters = excluded.hyperparameters, summary = excluded.summary, stamps = excluded.stamps,
      error = excluded.error, scanned_at = excluded.scanned_at`);
  return (row) => void upsert.run(row);
}

export function deleteCheckpoints(db: Database, ids: readonly number[]): void {
  const remove = db.prepare('DELETE FROM checkpoints WHERE id = ?');
  for (const id of ids) remove.run(id);
}

/** Each checkpoint's family and the root's scan report, stored together (one transaction). */
export function storeScanReport(
  db: Database,
  scan: {
    root: string;
    kitchenId: number | null;
    families: ReadonlyArray<{ id: number; familyId: string | null }>;
    report: unknown;
    scannedAt: string;
  },
): void {
  db.transaction(() => {
    const setFamily = db.prepare('UPDATE checkpoints SET family_id = ? WHERE id = ?');
    for (const f of scan.families) setFamily.run(f.familyId, f.id);
    db.prepare(
      `INSERT INTO scan_reports (root, kitchen_id, report, scanned_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(root) DO UPDATE SET kitchen_id = excluded.kitchen_id, report = excluded.report, scanned_at = excluded.scanned_at`,
    ).run(scan.root, scan.kitchenId, JSON.stringify(scan.report), scan.scannedAt);
  })();
}

function scopeWhere(scope: Scope): { sql: string; args: unknown[] } {
  if (scope.kitchenId !== undefined) return { sql: 'kitchen_id = ?', args: [scope.kitchenId] };
  if (scope.paths?.length) {
    const roots = scope.paths.map((p) => path.resolve(p));
    return { sql: `root IN (${roots.map(() => '?').join(', ')})`, args: roots };
  }
  return { sql: '1 = 1', args: [] };
}

/** Stored checkpoints of a scope, by root and path. */
export function checkpointsIn(db: Database, scope: Scope = {}): CheckpointRow[] {
  const where = scopeWhere(scope);
  return db
    .prepare(`SELECT * FROM checkpoints WHERE ${where.sql} ORDER BY root, path`)
    .all(...where.args) as CheckpointRow[];
}

/** The stored scan reports (JSON text) of a scope, by root. */
export function scanReportsIn(db: Database, scope: Scope = {}): string[] {
  const where = scopeWhere(scope);
  const rows = db
    .prepare(`SELECT report FROM scan_reports WHERE ${where.sql} ORDER BY root`)
    .all(...where.args) as Array<{ report: string }>;
  return rows.map((r) => r.report);
}
