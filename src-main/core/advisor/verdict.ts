import { SIGNIFICANCE_LEVEL } from './significance.js';

export interface VerdictFacts {
  holdoutName: string;
  holdoutN: number;
  runs: number;
  best: { who: string; top1: number };
  /** runs in another lineage group than the base's, as `run-x (lr = …)` */
  separate: string[];
  outliers: string[];
  /** what the outliers (of the base's lineage) have in common, e.g. the sweep's highest learning rates */
  outlierNote: string | null;
  ensembleTop1: number;
  ensembleWithoutOutliersTop1: number | null;
  uniformTop1: number;
  uniformWithoutOutliersTop1: number | null;
  /** median barrier among the non-outliers' pairs, null when fewer than two were paired */
  medianBarrier: number | null;
  /** how many of those pairs have a positive barrier */
  positivePairs: { positive: number; total: number };
  greedy: { size: number; rejected: number; rejectedWithinNoise: number } | null;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const pts = (x: number) => `${(100 * x).toFixed(1)} points`;

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * One paragraph: the lead (soupable, soupable without its outliers, or not), then the evidence in the
 * order a researcher checks it: lineage, outliers, uniform soups against the best run, barriers among the
 * rest, the logit ensemble as the ceiling, and what the greedy soup's held-out set could decide.
 */
export function verdictText(f: VerdictFacts): string {
  const cleanUniform = f.uniformWithoutOutliersTop1 ?? f.uniformTop1;
  const cleanEnsemble = f.ensembleWithoutOutliersTop1 ?? f.ensembleTop1;
  const oneBasin = f.medianBarrier !== null && f.medianBarrier <= 0;
  const without = f.outliers.length ? ` without ${list(f.outliers)}` : '';
  const lead =
    cleanUniform >= f.best.top1
      ? `Soupable${without}: the uniform soup${f.outliers.length ? ' of the rest' : ''} matches or beats the best run.`
      : oneBasin
        ? `Averageable${without}, but not worth souping here: the runs share one basin, yet the uniform soup stays below the best run.`
        : f.outliers.length
          ? `Not soupable as it stands, and only partly after removing ${list(f.outliers)}.`
          : 'Not soupable as it stands: its runs do not average well.';
  const sentences = [lead];
  if (f.separate.length)
    sentences.push(
      `${list(f.separate)} did not start from the same checkpoint as the others, so averaging ${f.separate.length > 1 ? 'them' : 'it'} with them mixes unrelated weights.`,
    );
  const others = f.outliers.filter((o) => !f.separate.includes(o));
  if (others.length)
    sentences.push(
      `${list(others)} ${others.length > 1 ? 'are outliers' : 'is an outlier'} (the reasons are given per run)${f.outlierNote ? `; ${f.outlierNote}` : ''}.`,
    );
  sentences.push(
    `The uniform soup of all ${f.runs} runs reaches ${pct(f.uniformTop1)} on ${f.holdoutName} against ${pct(f.best.top1)} for the best run, ${f.best.who}` +
      (f.uniformWithoutOutliersTop1 !== null
        ? `; without the outliers it reaches ${pct(f.uniformWithoutOutliersTop1)}.`
        : '.'),
  );
  if (f.medianBarrier !== null)
    sentences.push(
      Math.abs(f.medianBarrier) < 0.0005
        ? `Among the ${f.outliers.length ? 'remaining runs' : 'runs'} the midpoint of two runs is about as good as their ends (median barrier ${pts(0)}; worse in ${f.positivePairs.positive} of ${f.positivePairs.total} pairs), so averaging them neither gains nor loses much.`
        : f.medianBarrier > 0
          ? `Among the ${f.outliers.length ? 'remaining runs' : 'runs'} the midpoint of two runs is a median ${pts(f.medianBarrier)} worse than their ends (worse in ${f.positivePairs.positive} of ${f.positivePairs.total} pairs), so averaging two good runs lands below them: expect a greedy soup to keep few ingredients.`
          : `Among the ${f.outliers.length ? 'remaining runs' : 'runs'} the midpoint of two runs is a median ${pts(-f.medianBarrier)} better than their ends (better or equal in ${f.positivePairs.total - f.positivePairs.positive} of ${f.positivePairs.total} pairs): they share one basin, and averaging should help.`,
    );
  sentences.push(
    `The logit ensemble${f.ensembleWithoutOutliersTop1 !== null ? ' of the remaining runs' : ''} reaches ${pct(cleanEnsemble)}, a cheap estimate of what a soup could reach${cleanEnsemble <= f.best.top1 ? `; it does not beat the best run, so expect little gain from any soup over it` : `, ${pts(cleanEnsemble - f.best.top1)} above the best run`}.`,
  );
  if (f.greedy) {
    const { size, rejected, rejectedWithinNoise } = f.greedy;
    const real = rejected - rejectedWithinNoise;
    sentences.push(
      `The greedy soup kept ${size} of ${f.runs}` +
        (rejected === 0
          ? '.'
          : rejectedWithinNoise === 0
            ? `; each of its ${rejected} rejections was a real loss (McNemar p < ${SIGNIFICANCE_LEVEL}).`
            : `; ${rejectedWithinNoise} of its ${rejected} rejections were within the noise of ${f.holdoutN} held-out images (McNemar p ≥ ${SIGNIFICANCE_LEVEL}), so for those candidates the held-out set is too small to decide${real ? `, and ${real} lowered accuracy for real` : ''}.`),
    );
  }
  return sentences.join(' ');
}
