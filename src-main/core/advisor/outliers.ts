import { OUTLIER_Z, median, robustZ } from './robust.js';

export interface RunFacts {
  /** `run-11 (lr = 2e-2)` */
  who: string;
  /** task-vector norm with a base, else the median distance to the other runs */
  distance: number;
  /** mean barrier with the runs it was paired with (fraction of top-1), null when not paired */
  meanBarrier: number | null;
  top1: number;
  /** it did not start from the base (or the main group's start) */
  separateLineage: string | null;
}

export interface OutlierVerdict {
  outlier: boolean;
  reasons: string[];
}

const points = (fraction: number) => (100 * fraction).toFixed(1);
const ratio = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(1));

/** z-scores of the values that exist; null where a value is missing or fewer than three exist. */
function zScores(values: ReadonlyArray<number | null>): Array<number | null> {
  const present = values.filter((v): v is number => v !== null);
  if (present.length < 3) return values.map(() => null);
  const z = robustZ(present);
  let k = 0;
  return values.map((v) => (v === null ? null : z[k++]!));
}

/**
 * The robust rule on three statistics: a run is an outlier when its mean barrier lies more than 3.5 robust
 * standard deviations above the median run's, or its held-out top-1 that far below, or it did not start
 * from the shared base; its distance (from the base, or from the other runs) that far above the median
 * adds a reason, and decides alone only for a run whose barriers were not measured. Accuracy-based
 * reasons (barrier, top-1) must also exceed `resolvable`, the smallest difference the held-out set can
 * resolve, so a tight sweep does not flag a run for a gap within the held-out set's noise. Each reason is
 * a phrase with the numbers behind it; the first names the run, later ones continue with "its".
 */
export function findOutliers(
  runs: readonly RunFacts[],
  hasBase: boolean,
  resolvable: number,
): OutlierVerdict[] {
  const zDistance = zScores(runs.map((r) => r.distance));
  const zBarrier = zScores(runs.map((r) => r.meanBarrier));
  const zTop1 = zScores(runs.map((r) => r.top1));
  const medianDistance = median(runs.map((r) => r.distance));
  const barriers = runs.map((r) => r.meanBarrier).filter((b): b is number => b !== null);
  const medianBarrier = barriers.length ? median(barriers) : 0;
  const medianTop1 = median(runs.map((r) => r.top1));
  return runs.map((run, i) => {
    const phrases: Array<(subject: string, possessive: string) => string> = [];
    if (run.separateLineage) phrases.push((s) => `${s} ${run.separateLineage}`);
    const far = (zDistance[i] ?? 0) > OUTLIER_Z;
    const walled =
      (zBarrier[i] ?? 0) > OUTLIER_Z &&
      run.meanBarrier !== null &&
      run.meanBarrier - medianBarrier > resolvable;
    const weak = (zTop1[i] ?? 0) < -OUTLIER_Z && medianTop1 - run.top1 > resolvable;
    // Distance alone is no harm: a run far from the base whose midpoints are no worse and whose accuracy
    // is typical soups fine. It counts on its own only when the run's barriers were not measured.
    if (far && (walled || weak || run.meanBarrier === null || run.separateLineage)) {
      const times = ratio(run.distance / medianDistance);
      phrases.push((s) =>
        hasBase
          ? `${s} is ${times}× further from the base than the median run (‖θ − θ_base‖ = ${run.distance.toPrecision(3)} vs ${medianDistance.toPrecision(3)})`
          : `${s} is ${times}× further from the other runs than the median run (median distance ${run.distance.toPrecision(3)} vs ${medianDistance.toPrecision(3)})`,
      );
    }
    if (walled)
      phrases.push(
        (_, p) =>
          `${p} average barrier with the others is ${points(run.meanBarrier!)} points (median run: ${points(medianBarrier)})`,
      );
    if (weak)
      phrases.push(
        (_, p) =>
          `${p} held-out top-1 is ${points(medianTop1 - run.top1)} points below the median run's (${(100 * run.top1).toFixed(2)} % vs ${(100 * medianTop1).toFixed(2)} %)`,
      );
    const reasons = phrases.map((phrase, k) =>
      k === 0 ? phrase(run.who, `${run.who}'s`) : phrase('it', 'its'),
    );
    return { outlier: reasons.length > 0, reasons };
  });
}
