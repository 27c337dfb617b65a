import { describe, expect, it } from 'vitest';
import type { Evaluation } from '../../../src-renderer/lib/domain.js';
import { liveGreedySteps, parseGreedyMessage } from '../../../src-renderer/lib/greedy-live.js';

function soupRecord(label: string, setName: string, correct: number, n = 100): Evaluation {
  return {
    id: 1,
    n,
    correct,
    top1: correct / n,
    top5: null,
    nll: 1,
    ece: 0.1,
    model: { hash: `h-${label}`, label, path: null, kind: 'soup' },
    evalset: { hash: `e-${setName}`, name: setName, path: `/d/${setName}.safetensors` },
    perClass: [],
    provider: 'cpu',
    ortVersion: '1.30.0',
    batchSize: 256,
    threads: null,
    durationMs: 3,
    createdAt: '2026-01-01T00:00:00Z',
  };
}

describe('parseGreedyMessage', () => {
  it('reads the step and candidate of a greedy progress message', () => {
    expect(parseGreedyMessage('greedy step 3/15: + sweep/run-07_lr=1e-4/model.onnx')).toEqual({
      step: 3,
      of: 15,
      candidate: 'sweep/run-07_lr=1e-4/model.onnx',
    });
    expect(parseGreedyMessage('held-out: sweep/run-01/model.onnx')).toBeNull();
  });
});

describe('liveGreedySteps', () => {
  const records = [
    soupRecord('greedy soup step 2', 'holdout', 71),
    soupRecord('greedy soup step 1', 'holdout', 72),
    soupRecord('greedy soup step 3', 'holdout', 72),
    soupRecord('greedy soup step 1', 'test', 10),
    soupRecord('uniform soup (6)', 'holdout', 90),
  ];
  const candidates = new Map([
    [1, 'sweep/run-03'],
    [2, 'sweep/run-00'],
  ]);
  const start = { candidate: 'sweep/run-01', correct: 70, n: 100 };

  it("applies the paper's >= rule on correct counts, in step order", () => {
    const rows = liveGreedySteps({ candidates, records, holdoutName: 'holdout', start, strict: false });
    expect(rows.map((r) => [r.step, r.candidate, r.holdoutTop1, r.accepted, r.size])).toEqual([
      [0, 'sweep/run-01', 0.7, true, 1],
      [1, 'sweep/run-03', 0.72, true, 2],
      [2, 'sweep/run-00', 0.71, false, 2],
      [3, '…', 0.72, true, 3],
    ]);
  });

  it('rejects ties under the strict rule and works without a known start', () => {
    const strict = liveGreedySteps({ candidates, records, holdoutName: 'holdout', start, strict: true });
    expect(strict.map((r) => r.accepted)).toEqual([true, true, false, false]);
    const unknown = liveGreedySteps({
      candidates,
      records,
      holdoutName: 'holdout',
      start: null,
      strict: false,
    });
    expect(unknown[0]!.step).toBe(1);
    expect(unknown.every((r) => r.size === null)).toBe(true);
  });
});
