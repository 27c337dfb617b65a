import fs from 'node:fs';
import type { ErrorCode } from '../../common/errors.js';
import { TureenError } from '../../common/errors.js';

/** What refusals of model files and eval sets are called (their callers pick the code). */
/** what a file that is not what it should be is reported as (a recipe is a bad request) */
export type FileErrorCode = Extract<ErrorCode, 'bad_checkpoint' | 'bad_evalset' | 'bad_request'>;

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Open a file for reading only when it is a regular file, and say how large it is. A FIFO would block the
 * open or the read forever and a device (a link to /dev/zero) never ends, so both are refused before any
 * byte is read; O_NONBLOCK makes opening a FIFO return at once so that it can be refused.
 */
export function openRegularFile(file: string, code: FileErrorCode): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') throw new TureenError('not_found', `${file} does not exist`, { file });
    throw new TureenError('io_error', `${file} cannot be read (${errno ?? (error as Error).message})`, {
      file,
    });
  }
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    throw new TureenError(code, `${file} is ${kindOf(stat)}; Tureen reads only regular files`, { file });
  }
  return { fd, size: stat.size };
}

/** One read call at most this long (Node refuses single reads of 2 GiB or more). */
const READ_CHUNK = 256 * 1024 * 1024;

/** Read `length` bytes at `position`; fewer when the file ends first (the caller checks). */
export function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, Math.min(length - done, READ_CHUNK), position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/**
 * A whole regular file, bounded by its real size (never by what it claims to hold) and by `limit`: a file
 * that grows or shrinks while read is refused instead of read past its size.
 */
export function readRegularFile(
  file: string,
  code: FileErrorCode,
  limit: { bytes: number; what: string },
): Buffer {
  const { fd, size } = openRegularFile(file, code);
  try {
    if (size > limit.bytes) {
      throw new TureenError(
        code,
        `${file}: ${size} bytes, more than the ${limit.bytes}-byte limit for ${limit.what}`,
        { file },
      );
    }
    const bytes = readAt(fd, size, 0);
    if (bytes.byteLength !== size)
      throw new TureenError('io_error', `${file} ended early; did it change while reading?`, { file });
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

/** Read exactly `length` bytes at `offset` into a fresh (aligned) buffer. */
export async function readRange(
  file: string,
  offset: number,
  length: number,
  owner: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const handle = await fs.promises.open(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0)
        throw new TureenError(
          'io_error',
          `${file} (used by ${owner}) ended early; did it change while reading?`,
          { file },
        );
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return out;
}
