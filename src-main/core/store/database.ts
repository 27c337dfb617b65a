import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { TureenError } from '../../common/errors.js';
import { migrate } from './migrations.js';

export interface OpenDatabaseOptions {
  /** Electron loads a build of better-sqlite3 compiled for its own ABI (see docs/architecture.md). */
  nativeBinding?: string;
}

/** Open (creating if needed) the shared database in WAL mode and bring its schema up to date. */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: Database;
  try {
    db = new BetterSqlite3(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  } catch (error) {
    throw new TureenError('io_error', `cannot open the database ${file}: ${(error as Error).message}`, {
      file,
    });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/** The SQLite library's version (shown in app:info and the report's environment). */
export function sqliteVersion(db: Database): string {
  return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
}
