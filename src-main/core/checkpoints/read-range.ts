import fs from 'node:fs';
import { TureenError } from '../../common/errors.js';

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
