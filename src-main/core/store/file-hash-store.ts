import type { Database } from 'better-sqlite3';

/** A file's content hash as last computed, with the size and mtime it had then. */
export interface StoredHash {
  size: number;
  mtimeMs: number;
  sha256: string;
}

export function storedHash(db: Database, file: string): StoredHash | null {
  const row = db.prepare('SELECT size, mtime_ms, sha256 FROM file_hashes WHERE path = ?').get(file) as
    { size: number; mtime_ms: number; sha256: string } | undefined;
  return row ? { size: row.size, mtimeMs: row.mtime_ms, sha256: row.sha256 } : null;
}

export function storeHash(db: Database, file: string, hash: StoredHash): void {
  db.prepare(
    `INSERT INTO file_hashes (path, size, mtime_ms, sha256) VALUES (?, ?, ?, ?)
     ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256`,
  ).run(file, hash.size, hash.mtimeMs, hash.sha256);
}
