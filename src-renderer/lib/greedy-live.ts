/**
 * Greedy-soup steps while the job runs. The API has no per-step event, so the live table is assembled from
 * what the service already publishes: the job's progress messages ("greedy step 3/15: + sweep/run-07/…")
 * name each candidate, and the held-out evaluation of each candidate soup is stored as it finishes
 * ("greedy soup step 3"). Acceptance follows the recipe's rule on integer correct counts. When the job
 * ends, the recipe's own steps replace these.
 */
import type { Evaluation } from './domain.js';
import type { GreedyStepRow } from './recipes.js';

const MESSAGE = /^greedy step (\d+)\/(\d+): \+ (.+)$/;
const LABEL = /^greedy soup step (\d+)$/;

/** Candidate per step number, from one progress message; null when the message is about something else. */
export function parseGreedyMessage(message: string): { step: number; of: number; candidate: string } | null {
  const m = MESSAGE.exec(message.trim());
  return m ? { step: Number(m[1]), of: Number(m[2]), candidate: m[3]! } : null;
}

export interface LiveGreedyInput {
  /** candidate by step number (from progress messages) */
  candidates: ReadonlyMap<number, string>;
  /** evaluations stored since the job started */
  records: readonly Evaluation[];
  holdoutName: string;
  /** step 0: the best single ingredient and its held-out correct count, when known */
  start: { candidate: string; correct: number; n: number } | null;
  strict: boolean;
}

export function liveGreedySteps(input: LiveGreedyInput): GreedyStepRow[] {
  const evaluated = new Map<number, { correct: number; n: number }>();
  for (const r of input.records) {
    const m = LABEL.exec(r.model.label);
    if (m && r.evalset.name === input.holdoutName)
      evaluated.set(Number(m[1]), { correct: r.correct, n: r.n });
  }
  const rows: GreedyStepRow[] = [];
  let best = input.start?.correct ?? null;
  let size = input.start ? 1 : 0;
  if (input.start) {
    rows.push({
      step: 0,
      candidate: input.start.candidate,
      holdoutTop1: input.start.correct / input.start.n,
      accepted: true,
      size: 1,
    });
  }
  const steps = [...evaluated.keys()].sort((a, b) => a - b);
  for (const step of steps) {
    const e = evaluated.get(step)!;
    const accepted = best === null || (input.strict ? e.correct > best : e.correct >= best);
    if (accepted) {
      best = e.correct;
      size++;
    }
    rows.push({
      step,
      candidate: input.candidates.get(step) ?? '…',
      holdoutTop1: e.correct / e.n,
      accepted,
      size: input.start ? size : null,
    });
  }
  return rows;
}
