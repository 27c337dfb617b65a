import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import { isWithin } from '../within.js';

/**
 * Resolve a file name a checkpoint refers to (ONNX external data, shard names) against the folder it
 * lives in. Absolute paths and `..` escapes are refused: a downloaded model must not make Tureen read
 * arbitrary files.
 */
export function resolveInside(dir: string, reference: string, referencedBy: string): string {
  if (reference.length === 0 || reference.includes('\0')) {
    throw new TureenError('bad_checkpoint', `${referencedBy}: empty or invalid file reference`, {
      file: referencedBy,
    });
  }
  if (path.isAbsolute(reference) || path.win32.isAbsolute(reference)) {
    throw new TureenError(
      'bad_checkpoint',
      `${referencedBy}: refers to the absolute path "${reference}"; only files beside the model are read`,
      { file: referencedBy, reference },
    );
  }
  const resolved = path.resolve(dir, reference);
  if (resolved === path.resolve(dir) || !isWithin(dir, resolved) || reference.split(/[\\/]/).includes('..')) {
    throw new TureenError(
      'bad_checkpoint',
      `${referencedBy}: refers to "${reference}", outside its folder; refusing to read it`,
      { file: referencedBy, reference },
    );
  }
  if (fs.existsSync(resolved)) {
    const real = fs.realpathSync(resolved);
    if (!isWithin(fs.realpathSync(dir), real)) {
      throw new TureenError(
        'bad_checkpoint',
        `${referencedBy}: "${reference}" is a link to ${real}, outside its folder; refusing to read it`,
        { file: referencedBy, reference },
      );
    }
  }
  return resolved;
}
