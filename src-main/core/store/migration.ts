import type { Database } from 'better-sqlite3';

/**
 * One schema change. In its own file so that the migrations (which implement it) and the list that orders
 * them (./migrations.ts, which imports every migration) do not import each other.
 */
export interface Migration {
  version: number;
  name: string;
  up: (db: Database) => void;
}
