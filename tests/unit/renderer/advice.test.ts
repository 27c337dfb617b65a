import { describe, expect, it } from 'vitest';
import type { Advice } from '../../../src-renderer/lib/advice.js';
import { adviceForComparison } from '../../../src-renderer/lib/advice.js';

/** Only the fields adviceForComparison reads; the rest of an Advice does not matter here. */
function advice(runs: string[], holdout = '/k/data/holdout.safetensors', greedy = true): Advice {
  return {
    holdout: { name: 'holdout', path: holdout, n: 2000 },
    ingredients: runs.map((r) => ({ path: `/k/${r}`, label: r })),
    greedy: greedy ? { size: 1, steps: [] } : null,
  } as unknown as Advice;
}

const table = {
  evalsets: [
    { role: 'holdout', path: '/k/data/holdout.safetensors' },
    { role: 'id', path: '/k/data/test.safetensors' },
  ],
  rows: [
    { kind: 'base', ingredients: ['base/model.onnx'] },
    { kind: 'ingredient', ingredients: ['run-1/model.onnx'] },
    { kind: 'ingredient', ingredients: ['run-2/model.onnx'] },
    { kind: 'greedy_soup', ingredients: ['run-1/model.onnx'] },
  ],
};
const relative = (p: string) => (p.startsWith('/k/') ? p.slice(3) : p);

describe('adviceForComparison (the Compare view shows the advisor greedy-step tests only for its own soup)', () => {
  it('takes the advice on the same runs and held-out set', () => {
    const a = advice(['run-2/model.onnx', 'run-1/model.onnx']);
    expect(adviceForComparison(a, table, relative)).toEqual({ advice: a, reason: null });
  });
  it('says why not otherwise', () => {
    expect(adviceForComparison(null, table, relative).reason).toContain('no advisor run');
    expect(
      adviceForComparison(
        advice(['run-1/model.onnx', 'run-2/model.onnx'], '/k/data/other.safetensors'),
        table,
        relative,
      ).reason,
    ).toContain('another held-out set');
    expect(adviceForComparison(advice(['run-1/model.onnx']), table, relative).reason).toContain('other runs');
    expect(
      adviceForComparison(advice(['run-1/model.onnx', 'run-2/model.onnx'], undefined, false), table, relative)
        .advice,
    ).toBeNull();
  });
});
