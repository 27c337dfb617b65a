/**
 * Greedy-soup steps while the job runs, from the `recipes:step` events the job publishes as each step
 * finishes (step 0: the best single ingredient). When the job ends, the recipe's own steps replace these.
 */
import { displayName } from './checkpoints.js';
import type { GreedyStepRow } from './recipes.js';
import type { GreedyStepEvent } from './domain.js';

/** Steps kept at most: compare jobs publish their greedy steps too, and nothing else clears them. */
export const KEPT_STEPS = 1000;

/** Add one published step to those kept so far (a step published twice is kept once). */
export function addGreedyStep(steps: readonly GreedyStepEvent[], step: GreedyStepEvent): GreedyStepEvent[] {
  return [...steps.filter((s) => s.jobId !== step.jobId || s.step !== step.step), step].slice(-KEPT_STEPS);
}

/** The table rows of one job's steps, in step order. */
export function liveGreedySteps(steps: readonly GreedyStepEvent[], jobId: string): GreedyStepRow[] {
  return steps
    .filter((s) => s.jobId === jobId)
    .sort((a, b) => a.step - b.step)
    .map((s) => ({
      step: s.step,
      candidate: displayName(s.candidate),
      holdoutTop1: s.holdout_top1,
      accepted: s.accepted,
      size: s.size,
    }));
}
