import { mcnemarExact } from '../inference/stats.js';

/** Below this p-value a step's change is called real; at or above it, within the held-out set's noise. */
export const SIGNIFICANCE_LEVEL = 0.05;

export interface StepDecision {
  step: number;
  candidate: string;
  accepted: boolean;
  holdout_correct: number;
}

export interface TestedStep extends StepDecision {
  better: number;
  worse: number;
  p: number;
  explanation: string;
}

export function formatP(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  return `p = ${Number(p.toPrecision(2))}`;
}

function explain(accepted: boolean, better: number, worse: number, n: number, p: number): string {
  const net = better - worse;
  const change =
    net === 0
      ? `no net change of ${n} images (${better} better, ${worse} worse)`
      : `${Math.abs(net)} of ${n} images ${net > 0 ? 'better' : 'worse'} (${better} better, ${worse} worse)`;
  const noise =
    better + worse === 0
      ? 'no image changed'
      : p >= SIGNIFICANCE_LEVEL
        ? 'within noise'
        : net > 0
          ? 'a real gain'
          : 'a real loss';
  return `${accepted ? 'accepted' : 'rejected'}: ${change}, ${formatP(p)} — ${noise}`;
}

/**
 * Each greedy step against the soup it would change: the trial soup's per-image correctness against the
 * current soup's (the last accepted one), the exact McNemar p-value of the difference, and a sentence.
 * `trials[k]` is step k + 1's trial soup; `start` is the starting ingredient's correctness.
 */
export function testGreedySteps(
  steps: readonly StepDecision[],
  start: Uint8Array,
  trials: readonly Uint8Array[],
): TestedStep[] {
  let current = start;
  return steps.map((step, k) => {
    if (k === 0)
      return { ...step, better: 0, worse: 0, p: 1, explanation: 'start: the best run on the held-out set' };
    const trial = trials[k - 1]!;
    const { onlyA, onlyB, p } = mcnemarExact(trial, current);
    const tested = {
      ...step,
      better: onlyA,
      worse: onlyB,
      p,
      explanation: explain(step.accepted, onlyA, onlyB, start.length, p),
    };
    if (step.accepted) current = trial;
    return tested;
  });
}
