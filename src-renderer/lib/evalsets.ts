/** Checks on the eval sets as a whole that the UI explains before anything runs. */
import type { EvalSet, Leakage } from './domain.js';

interface EvalSetProblem {
  /** the set it concerns, or null for the collection */
  path: string | null;
  severity: 'error' | 'warning';
  message: string;
}

/** Classes an eval set scores over: the class subset when there is one, else the labels' range. */
export function classCount(set: Pick<EvalSet, 'classSubset' | 'labelHistogram'>): number {
  return set.classSubset ? set.classSubset.length : set.labelHistogram.length;
}

export function evalSetProblems(sets: readonly EvalSet[]): EvalSetProblem[] {
  const problems: EvalSetProblem[] = [];
  if (sets.length === 0) return problems;
  const holdouts = sets.filter((s) => s.role === 'holdout');
  if (holdouts.length === 0) {
    problems.push({
      path: null,
      severity: 'error',
      message:
        'No eval set has the role holdout. Greedy and learned soups select on a holdout set: give one set that role.',
    });
  } else if (holdouts.length > 1) {
    problems.push({
      path: null,
      severity: 'error',
      message: `${holdouts.length} sets have the role holdout (${holdouts.map((s) => s.name).join(', ')}); keep exactly one.`,
    });
  }
  if (!sets.some((s) => s.role === 'id')) {
    problems.push({
      path: null,
      severity: 'warning',
      message:
        'No in-distribution (id) test set: the comparison will have no test accuracy on the training distribution.',
    });
  }
  const byName = new Map<string, EvalSet[]>();
  for (const set of sets) byName.set(set.name, [...(byName.get(set.name) ?? []), set]);
  for (const [name, same] of byName) {
    if (same.length > 1) {
      for (const set of same) {
        problems.push({
          path: set.path,
          severity: 'error',
          message: `Another eval set is also named "${name}"; set tureen.name in one of them so results can be told apart.`,
        });
      }
    }
  }
  for (const set of sets) {
    if (set.role === null) {
      problems.push({
        path: set.path,
        severity: 'warning',
        message: 'No role: choose holdout, id or shift, or the set is left out of comparisons.',
      });
    }
    if (set.n === 0)
      problems.push({ path: set.path, severity: 'error', message: 'The set has no examples (N = 0).' });
    const empty = set.labelHistogram.filter((c) => c === 0).length;
    if (empty > 0 && !set.classSubset) {
      problems.push({
        path: set.path,
        severity: 'warning',
        message: `${empty} of ${set.labelHistogram.length} classes have no example; per-class accuracy is undefined for them.`,
      });
    }
  }
  return problems;
}

/** Leakage warnings that involve this eval set, matched by path: the same name can occur in two kitchens. */
export function leaksOf(leakage: readonly Leakage[], path: string): Leakage[] {
  return leakage.filter((l) => l.holdoutPath === path || l.otherPath === path);
}

/** A key per warning (one per holdout file and other file). */
export function leakKey(leak: Leakage): string {
  return `${leak.holdoutPath}\u0000${leak.otherPath}`;
}
