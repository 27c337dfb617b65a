import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeMetrics, correctness } from '../../../src-main/core/inference/metrics.js';
import { bootstrapTop1, mcnemarExact } from '../../../src-main/core/inference/stats.js';

interface Case {
  n: number;
  classes: number;
  subset: number[] | null;
  logits: number[];
  labels: number[];
  expected: {
    correct: number;
    top1: number;
    top5: number | null;
    nll: number;
    ece: number;
    per_class: Array<number | null>;
  };
  expected_scaled: { scale: number; nll: number };
}

// Reference values computed with numpy in tests/fixtures/evaluation/make_fixtures.py
const fixture = JSON.parse(
  fs.readFileSync(path.resolve(import.meta.dirname, '../../fixtures/evaluation/metrics.json'), 'utf8'),
) as {
  cases: Case[];
  mcnemar: { a: number[]; b: number[]; only_a: number; only_b: number; p: number };
  mcnemar_small: Array<{ only_a: number; only_b: number; p: number }>;
};

describe('metrics agree with numpy on fixed logits', () => {
  for (const [index, c] of fixture.cases.entries()) {
    it(`case ${index}: N=${c.n}, C=${c.classes}${c.subset ? `, subset of ${c.subset.length}` : ''}`, () => {
      const logits = { n: c.n, classes: c.classes, data: Float32Array.from(c.logits) };
      const labels = Int32Array.from(c.labels);
      const m = computeMetrics(logits, labels, c.subset);
      expect(m.correct).toBe(c.expected.correct);
      expect(m.top1).toBe(c.expected.top1);
      if (c.expected.top5 === null) expect(m.top5).toBeNull();
      else expect(m.top5).toBeCloseTo(c.expected.top5, 12);
      expect(Math.abs(m.nll! - c.expected.nll)).toBeLessThan(1e-9);
      expect(Math.abs(m.ece! - c.expected.ece)).toBeLessThan(1e-9);
      expect(m.perClass).toEqual(c.expected.per_class);
      const scaled = computeMetrics(logits, labels, c.subset, c.expected_scaled.scale);
      expect(Math.abs(scaled.nll! - c.expected_scaled.nll)).toBeLessThan(1e-9);
    });
  }
});

describe('McNemar exact test', () => {
  it('matches the exact binomial sum computed with integers', () => {
    const { a, b, only_a, only_b, p } = fixture.mcnemar;
    const r = mcnemarExact(Uint8Array.from(a), Uint8Array.from(b));
    expect([r.onlyA, r.onlyB]).toEqual([only_a, only_b]);
    expect(Math.abs(r.p - p)).toBeLessThan(1e-12);
  });
  it('handles the small and degenerate cases', () => {
    for (const c of fixture.mcnemar_small) {
      const a = Uint8Array.from([...Array(c.only_a).fill(1), ...Array(c.only_b).fill(0), 1, 0]);
      const b = Uint8Array.from([...Array(c.only_a).fill(0), ...Array(c.only_b).fill(1), 1, 0]);
      const r = mcnemarExact(a, b);
      expect(Math.abs(r.p - c.p)).toBeLessThan(1e-12);
    }
  });
});

describe('bootstrap interval for top-1', () => {
  it('is reproducible with a seed, brackets the estimate, and narrows with more data', () => {
    const make = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i % 10 < 7 ? 1 : 0));
    const small = bootstrapTop1(make(200), { seed: 3 });
    expect(bootstrapTop1(make(200), { seed: 3 })).toEqual(small);
    expect(small.low).toBeLessThanOrEqual(0.7);
    expect(small.high).toBeGreaterThanOrEqual(0.7);
    const large = bootstrapTop1(make(5000), { seed: 3 });
    expect(large.high - large.low).toBeLessThan(small.high - small.low);
    // the binomial standard error at p = 0.7, n = 200 is 0.0324: a 95 % interval is about ±0.063
    expect(small.high - small.low).toBeGreaterThan(0.09);
    expect(small.high - small.low).toBeLessThan(0.16);
  });
  it('per-example correctness follows argmax (first index on ties)', () => {
    const logits = { n: 3, classes: 3, data: Float32Array.from([1, 1, 0, 0, 2, 2, 5, 0, 0]) };
    expect([...correctness(logits, Int32Array.from([0, 2, 0]))]).toEqual([1, 0, 1]);
  });
});
