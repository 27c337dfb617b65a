import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { KitchenSummary } from '../../common/api/kitchens.js';

/** A registered folder (not the Kitchen service). */
export type RegisteredKitchen = z.output<typeof KitchenSummary>;

interface KitchenRow {
  id: number;
  path: string;
  name: string;
  added_at: string;
  is_demo: number;
}

const toSummary = (row: KitchenRow): RegisteredKitchen => ({
  id: row.id,
  path: row.path,
  name: row.name,
  addedAt: row.added_at,
  isDemo: row.is_demo === 1,
});

/** Registered kitchens by name (case-insensitive), then id. */
export function listKitchens(db: Database): RegisteredKitchen[] {
  const rows = db.prepare('SELECT * FROM kitchens ORDER BY name COLLATE NOCASE, id').all() as KitchenRow[];
  return rows.map(toSummary);
}

export function kitchenByPath(db: Database, folder: string): RegisteredKitchen | null {
  const row = db.prepare('SELECT * FROM kitchens WHERE path = ?').get(folder) as KitchenRow | undefined;
  return row ? toSummary(row) : null;
}

export function insertKitchen(
  db: Database,
  folder: string,
  name: string,
  isDemo: boolean,
): RegisteredKitchen {
  const info = db
    .prepare('INSERT INTO kitchens (path, name, added_at, is_demo) VALUES (?, ?, ?, ?)')
    .run(folder, name, new Date().toISOString(), isDemo ? 1 : 0);
  return toSummary(db.prepare('SELECT * FROM kitchens WHERE id = ?').get(info.lastInsertRowid) as KitchenRow);
}

/** Whether a kitchen with this id existed (and is now gone). */
export function deleteKitchen(db: Database, id: number): boolean {
  return db.prepare('DELETE FROM kitchens WHERE id = ?').run(id).changes > 0;
}
