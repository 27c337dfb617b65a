import { TureenError } from '../../common/errors.js';
import type { Method } from './methods/method.js';

/** A grid of one parameter, searched on the held-out set. */
export interface SearchGrid {
  param: string;
  values: number[];
}

/** The most grid points a search may evaluate (each is one merge and one held-out evaluation). */
export const MAX_SEARCH_POINTS = 101;

/**
 * `lambda=0.2:1.6:0.2` → lambda at 0.2, 0.4, …, 1.6 (both ends included; values rounded to 12 significant
 * digits so 0.1-steps do not collect float drift). The parameter must be one the method can search.
 */
export function parseSearch(text: string, method: Pick<Method, 'name' | 'searchable'>): SearchGrid {
  const match = /^([a-z_]+)=(-?[\d.]+(?:e-?\d+)?):(-?[\d.]+(?:e-?\d+)?):([\d.]+(?:e-?\d+)?)$/i.exec(
    text.trim(),
  );
  const searchable = method.searchable.join(', ') || 'none';
  if (!match) {
    throw new TureenError(
      'bad_request',
      `--search ${text}: expected name=from:to:step, e.g. lambda=0.2:1.6:0.2 (${method.name} can search: ${searchable})`,
      { field: 'search' },
    );
  }
  const [, param, fromText, toText, stepText] = match as unknown as [string, string, string, string, string];
  if (!(method.searchable as readonly string[]).includes(param)) {
    throw new TureenError('bad_request', `--search ${param}: ${method.name} can search ${searchable}`, {
      field: 'search',
    });
  }
  const from = Number(fromText);
  const to = Number(toText);
  const step = Number(stepText);
  if (!(step > 0) || !(to >= from)) {
    throw new TureenError('bad_request', `--search ${text}: needs from ≤ to and a step > 0`, {
      field: 'search',
    });
  }
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  if (count > MAX_SEARCH_POINTS) {
    throw new TureenError(
      'bad_request',
      `--search ${text}: ${count} grid points; at most ${MAX_SEARCH_POINTS} (each is a merge and a held-out evaluation)`,
      { field: 'search' },
    );
  }
  const values = Array.from({ length: count }, (_, i) => Number((from + i * step).toPrecision(12)));
  return { param, values };
}
