import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A temporary file beside `target`, renamed over it by commit() and removed by abort(). */
export interface AtomicFile {
  readonly tempPath: string;
  readonly fd: number;
  commit(): void;
  abort(): void;
}

export function openAtomic(target: string): AtomicFile {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tempPath = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const fd = fs.openSync(tempPath, 'wx');
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      fs.closeSync(fd);
    }
  };
  return {
    tempPath,
    fd,
    commit() {
      fs.fsyncSync(fd);
      close();
      fs.renameSync(tempPath, target);
    },
    abort() {
      close();
      fs.rmSync(tempPath, { force: true });
    },
  };
}

/** Write all bytes at the fd's current position (fs.writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

/** Write several files so that either all appear or none does. */
export function writeFilesAtomically(files: Array<{ path: string; write: (fd: number) => void }>): void {
  const opened = files.map((f) => ({ file: f, atomic: openAtomic(f.path) }));
  try {
    for (const { file, atomic } of opened) file.write(atomic.fd);
  } catch (error) {
    for (const { atomic } of opened) atomic.abort();
    throw error;
  }
  for (const { atomic } of opened) atomic.commit();
}
