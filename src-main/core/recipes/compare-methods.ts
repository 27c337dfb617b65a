import { TureenError } from '../../common/errors.js';
import type { MergeMethod } from './methods/method.js';
import { MERGE_METHODS, SOUP_METHODS, mergeMethod } from './methods/index.js';
import type { SearchGrid } from './search.js';
import { parseSearch } from './search.js';

/**
 * The soups a comparison cooks besides the merge methods: the registry's soup methods that take the whole
 * sweep (interpolation takes two models and is a curve, not a row), in registry order.
 */
export const COMPARE_SOUPS: readonly string[] = SOUP_METHODS.filter(
  (m) => m.needs.models.max === undefined,
).map((m) => m.name);
export type CompareSoup = string;

/** Task arithmetic's λ grid in a comparison (λ = 1 is the plain sum; the papers tune λ on held-out data). */
export const COMPARE_LAMBDA_SEARCH = 'lambda=0.2:1.6:0.2';

export interface CompareMerge {
  method: MergeMethod;
  params: Record<string, unknown>;
  search: SearchGrid | null;
}

export interface ComparePlan {
  soups: Set<CompareSoup>;
  merges: CompareMerge[];
  /** methods asked for that this family cannot run, with the reason */
  warnings: string[];
}

/**
 * Which rows a comparison computes. Default: the uniform, greedy and learned soups, plus Model Stock and
 * task arithmetic with a held-out λ search when the family has a base. Asked-for merge methods the family
 * cannot run (no base, not exactly two models for SLERP) are left out with a warning, not an error: the
 * rest of the table is still worth having.
 */
export function comparePlan(
  methods: readonly string[] | undefined,
  family: { hasBase: boolean; members: number },
): ComparePlan {
  const names = methods?.length
    ? [...new Set(methods)]
    : [...COMPARE_SOUPS, ...(family.hasBase ? ['model-stock', 'task-arithmetic'] : [])];
  const soups = new Set<CompareSoup>();
  const merges: CompareMerge[] = [];
  const warnings: string[] = [];
  for (const name of names) {
    if (COMPARE_SOUPS.includes(name)) {
      soups.add(name);
      continue;
    }
    const method = mergeMethod(name);
    if (!method) {
      const known = [...COMPARE_SOUPS, ...MERGE_METHODS.map((m) => m.name)].join(', ');
      throw new TureenError('bad_request', `--methods: unknown method "${name}"; use ${known}`, {
        field: 'methods',
      });
    }
    const { base, models } = method.needs;
    if (base === 'required' && !family.hasBase) {
      warnings.push(`${name} left out: it needs the base model (give --base, or put it in a base/ folder)`);
      continue;
    }
    if (family.members < models.min || (models.max !== undefined && family.members > models.max)) {
      warnings.push(
        `${name} left out: it needs ${models.max === models.min ? `exactly ${models.min}` : `at least ${models.min}`} ingredients, the sweep has ${family.members}`,
      );
      continue;
    }
    merges.push({
      method,
      params: {},
      search: name === 'task-arithmetic' ? parseSearch(COMPARE_LAMBDA_SEARCH, method) : null,
    });
  }
  return { soups, merges, warnings };
}
