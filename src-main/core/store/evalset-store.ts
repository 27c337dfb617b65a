import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { EvalRole } from '../datasets/evalset.js';

/** The role the user gave an eval set in the app (overrides the file's own metadata), or null. */
export function appRole(db: Database, file: string): EvalRole | null {
  const row = db.prepare('SELECT role FROM evalset_roles WHERE path = ?').get(path.resolve(file)) as
    { role: EvalRole } | undefined;
  return row?.role ?? null;
}

export function setAppRole(db: Database, file: string, role: EvalRole | null): void {
  const absolute = path.resolve(file);
  if (role === null) db.prepare('DELETE FROM evalset_roles WHERE path = ?').run(absolute);
  else {
    db.prepare(
      `INSERT INTO evalset_roles (path, role, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at`,
    ).run(absolute, role, new Date().toISOString());
  }
}
