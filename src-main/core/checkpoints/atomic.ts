import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dispatch } from '../workers/pool.js';

/**
 * Files are written under a temporary name beside their target and renamed over it when complete, so a
 * reader never sees half a file. The temporary name says who wrote it, `.<name>.tureen-<pid>-<random>.tmp`,
 * so that a later write to the same folder can remove what a killed writer left (a cook killed mid-write
 * leaves up to a whole soup) without touching a temporary another running process is still writing.
 */
const TEMP_NAME = /^\..+\.tureen-(\d+)-[0-9a-f]{12}\.tmp$/;
/** Tureen before the pid was in the name: `.<name>.<random>.tmp`. */
const LEGACY_TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;
/** A legacy temporary is stale once untouched this long and older than this process. */
const LEGACY_GRACE_MS = 60_000;

const processStartMs = Date.now() - process.uptime() * 1000;

function temporaryNameFor(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.tureen-${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `name` in `dir` is a temporary of Tureen's that nobody will finish. */
function isStaleTemporary(dir: string, name: string): boolean {
  const ours = TEMP_NAME.exec(name);
  const legacy = !ours && LEGACY_TEMP_NAME.test(name);
  if (!ours && !legacy) return false;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(path.join(dir, name));
  } catch {
    return false;
  }
  if (!stat.isFile()) return false;
  if (ours) {
    const pid = Number(ours[1]);
    return pid !== process.pid && !processAlive(pid);
  }
  return stat.mtimeMs < processStartMs && Date.now() - stat.mtimeMs > LEGACY_GRACE_MS;
}

/**
 * Remove Tureen's temporaries in `dir` whose writer is gone (its process no longer runs; for names without a
 * pid, untouched since before this process started). Returns the removed paths. Never follows links, never
 * touches a file that does not match Tureen's own naming.
 */
export function removeStaleTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isStaleTemporary(dir, name)) continue;
    const file = path.join(dir, name);
    try {
      fs.rmSync(file, { force: true });
      removed.push(file);
    } catch {
      // another process cleaned it first, or it is not ours to remove after all: leave it
    }
  }
  return removed;
}

/** A temporary file beside `target`, renamed over it by commit() and removed by abort(). */
export interface AtomicFile {
  readonly target: string;
  readonly tempPath: string;
  readonly fd: number;
  /** flush to disk and close; the temporary keeps its name until commit() */
  close(): void;
  commit(): void;
  abort(): void;
}

export function openAtomic(target: string): AtomicFile {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  removeStaleTemporaries(dir);
  const tempPath = temporaryNameFor(target);
  const fd = fs.openSync(tempPath, 'wx');
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  };
  return {
    target,
    tempPath,
    fd,
    close,
    commit() {
      close();
      fs.renameSync(tempPath, target);
    },
    abort() {
      if (open) {
        open = false;
        fs.closeSync(fd);
      }
      fs.rmSync(tempPath, { force: true });
    },
  };
}

/** Write all bytes at the fd's current position (fs.writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

/** Files written completely under temporary names, not yet in place. */
export interface StagedFiles {
  /** each target with the temporary that holds its bytes, in the order given */
  readonly files: ReadonlyArray<{ target: string; tempPath: string }>;
  /** rename every temporary over its target, in order */
  commit(): void;
  /** remove every temporary */
  abort(): void;
}

/**
 * Write several files under temporary names (flushed and closed), without putting them in place yet: the
 * caller can read them (hash a soup for its recipe) and then commit them together with other staged files.
 * On a write error every temporary is removed and the error thrown.
 */
export function stageFiles(files: Array<{ path: string; write: (fd: number) => void }>): StagedFiles {
  const opened: AtomicFile[] = [];
  try {
    for (const file of files) {
      const atomic = openAtomic(file.path);
      opened.push(atomic);
      file.write(atomic.fd);
    }
    for (const atomic of opened) atomic.close();
  } catch (error) {
    for (const atomic of opened) atomic.abort();
    throw error;
  }
  return stagedOf(opened);
}

/** Closed temporaries, renamed into place together by commit() or removed by abort(). */
function stagedOf(opened: readonly AtomicFile[]): StagedFiles {
  return {
    files: opened.map((a) => ({ target: a.target, tempPath: a.tempPath })),
    commit() {
      for (const atomic of opened) atomic.commit();
    },
    abort() {
      for (const atomic of opened) atomic.abort();
    },
  };
}

/**
 * stageFiles for writers that run on a worker thread: each `write` gets the open fd and resolves with what
 * it reports (a sha256 computed while writing); the fsync runs on a worker too, so a large soup's flush
 * never holds the UI's thread. On any failure every temporary is removed and the error thrown.
 */
export async function stageFilesAsync<T>(
  files: Array<{ path: string; write: (fd: number) => Promise<T> }>,
): Promise<StagedFiles & { results: T[] }> {
  const opened: AtomicFile[] = [];
  const results: T[] = [];
  try {
    for (const file of files) {
      const atomic = openAtomic(file.path);
      opened.push(atomic);
      results.push(await file.write(atomic.fd));
    }
    await Promise.all(opened.map((atomic) => dispatch(() => ({ op: 'fsync', fd: atomic.fd }))));
    for (const atomic of opened) atomic.close();
  } catch (error) {
    for (const atomic of opened) atomic.abort();
    throw error;
  }
  return { ...stagedOf(opened), results };
}

/** Write several files so that either all appear or none does (short of a crash between the renames). */
export function writeFilesAtomically(files: Array<{ path: string; write: (fd: number) => void }>): void {
  stageFiles(files).commit();
}
