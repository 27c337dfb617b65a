import { describe, expect, it } from 'vitest';
import { addGreedyStep, KEPT_STEPS, liveGreedySteps } from '../../../src-renderer/lib/greedy-live.js';
import type { GreedyStepEvent } from '../../../src-renderer/lib/domain.js';

function step(
  jobId: string,
  n: number,
  candidate: string,
  correct: number,
  accepted: boolean,
  size: number,
): GreedyStepEvent {
  return {
    jobId,
    step: n,
    candidate,
    holdout_correct: correct,
    holdout_top1: correct / 100,
    accepted,
    size,
  };
}

describe('live greedy steps from recipes:step events', () => {
  it("shows one job's steps in step order, named by run folder", () => {
    let kept: GreedyStepEvent[] = [];
    for (const s of [
      step('cook', 1, 'sweep/run-03/model.onnx', 72, true, 2),
      step('cook', 0, 'sweep/run-01/model.onnx', 70, true, 1),
      step('compare', 0, 'other/run-09/model.onnx', 50, true, 1),
      step('cook', 2, 'sweep/run-00/model.safetensors', 71, false, 2),
    ])
      kept = addGreedyStep(kept, s);
    expect(
      liveGreedySteps(kept, 'cook').map((r) => [r.step, r.candidate, r.holdoutTop1, r.accepted, r.size]),
    ).toEqual([
      [0, 'sweep/run-01', 0.7, true, 1],
      [1, 'sweep/run-03', 0.72, true, 2],
      [2, 'sweep/run-00', 0.71, false, 2],
    ]);
    expect(liveGreedySteps(kept, 'compare')).toHaveLength(1);
    expect(liveGreedySteps(kept, 'unknown')).toEqual([]);
  });

  it('keeps a step published twice once, and a bounded number of steps', () => {
    const once = addGreedyStep(
      [step('cook', 1, 'sweep/run-03/model.onnx', 72, true, 2)],
      step('cook', 1, 'sweep/run-03/model.onnx', 72, true, 2),
    );
    expect(once).toHaveLength(1);
    let many: GreedyStepEvent[] = [];
    for (let i = 0; i < KEPT_STEPS + 5; i++) many = addGreedyStep(many, step('job', i, `r${i}`, 1, true, 1));
    expect(many).toHaveLength(KEPT_STEPS);
    expect(many[0]!.step).toBe(5);
  });
});
