import { TureenError } from '../../common/errors.js';

/** A JSON value from an eval set's `__metadata__` (absent or empty: undefined); `hint` says what to write. */
export function metadataJson(file: string, key: string, raw: string | undefined, hint: string): unknown {
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new TureenError('bad_evalset', `${file}: ${key} is not JSON; ${hint}`, { file });
  }
}
