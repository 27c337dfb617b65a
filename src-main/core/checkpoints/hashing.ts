import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { storeHash, storedHash } from '../store/file-hash-store.js';
import { workerPool } from '../workers/pool.js';

export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

export function stampOf(file: string): FileStamp {
  const stat = fs.statSync(file);
  return { path: path.resolve(file), size: stat.size, mtimeMs: stat.mtimeMs };
}

/**
 * sha256 of one file, streamed in 4 MiB reads: on a worker thread when there are workers (hashing a
 * checkpoint is seconds of CPU the UI's thread must not spend), else here between event-loop turns.
 */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const pool = workerPool();
  if (pool) {
    const digest = await pool.run<string>(() =>
      signal?.aborted ? null : { op: 'hash-file', file: path.resolve(file) },
    );
    signal?.throwIfAborted();
    return digest!;
  }
  const hash = createHash('sha256');
  const handle = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let position = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buf, 0, buf.byteLength, position);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Hashes cached by (path, size, mtime): a file is read again only when it changed. */
export async function cachedSha256(
  file: string,
  db?: Database | null,
  signal?: AbortSignal,
): Promise<string> {
  const stamp = stampOf(file);
  const stored = db ? storedHash(db, stamp.path) : null;
  if (stored && stored.size === stamp.size && stored.mtimeMs === stamp.mtimeMs) return stored.sha256;
  const digest = await sha256File(stamp.path, signal);
  if (db) storeHash(db, stamp.path, { size: stamp.size, mtimeMs: stamp.mtimeMs, sha256: digest });
  return digest;
}

/**
 * A checkpoint's content hash: for one file its sha256 (what `sha256sum` prints); for several files
 * (external data, shards) the sha256 of a manifest of lines `<sha256>  <name relative to the first file>`.
 */
export async function checkpointSha256(
  files: readonly string[],
  db?: Database | null,
  signal?: AbortSignal,
  /** the names the files will have (a soup is hashed under its temporary names before they are renamed) */
  names: readonly string[] = files,
): Promise<string> {
  if (files.length === 1) return cachedSha256(files[0]!, db, signal);
  // shards hash in parallel (one worker each)
  const hashes = await Promise.all(files.map((f) => cachedSha256(f, db, signal)));
  return manifestSha256(hashes, names);
}

/** checkpointSha256 from the files' own hashes (known already: a soup is hashed as it is written). */
export function manifestSha256(hashes: readonly string[], names: readonly string[]): string {
  if (hashes.length === 1) return hashes[0]!;
  const base = path.dirname(names[0]!);
  const lines = hashes.map((h, i) => `${h}  ${path.relative(base, names[i]!).split(path.sep).join('/')}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}
