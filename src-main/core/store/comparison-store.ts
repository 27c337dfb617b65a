import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { CompareTable } from '../../common/api/recipes.js';
import { isWithin } from '../within.js';

type Table = z.output<typeof CompareTable>;

export function saveComparison(db: Database, table: Omit<Table, 'id' | 'createdAt'>): Table {
  const createdAt = new Date().toISOString();
  const info = db
    .prepare('INSERT INTO comparisons (folders, document, created_at) VALUES (?, ?, ?)')
    .run(JSON.stringify(table.folders), JSON.stringify(table), createdAt);
  return { id: Number(info.lastInsertRowid), createdAt, ...table };
}

/**
 * A stored comparison: by id, else the latest one; with `folder`, only one whose folders lie inside that
 * folder or contain it (a kitchen compared by its sweep subfolder, or as part of a larger folder).
 */
export function loadComparison(db: Database, query: { id?: number; folder?: string } = {}): Table | null {
  const rows = (
    query.id === undefined
      ? db.prepare('SELECT id, folders FROM comparisons ORDER BY id DESC').iterate()
      : db.prepare('SELECT id, folders FROM comparisons WHERE id = ?').iterate(query.id)
  ) as IterableIterator<{ id: number; folders: string }>;
  const folder = query.folder === undefined ? null : path.resolve(query.folder);
  let found: number | null = null;
  for (const row of rows) {
    const folders = JSON.parse(row.folders) as string[];
    if (folder === null || folders.some((f) => isWithin(folder, f) || isWithin(f, folder))) {
      found = row.id;
      break;
    }
  }
  if (found === null) return null;
  const row = db.prepare('SELECT id, document, created_at FROM comparisons WHERE id = ?').get(found) as {
    id: number;
    document: string;
    created_at: string;
  };
  return {
    id: row.id,
    createdAt: row.created_at,
    ...(JSON.parse(row.document) as Omit<Table, 'id' | 'createdAt'>),
  };
}
