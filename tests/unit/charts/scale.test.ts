import { scaleLinear } from 'd3-scale';
import { describe, expect, it } from 'vitest';
import {
  accuracyExtent,
  clampToDomain,
  isFarOutside,
  accuracyScale,
  linearScale,
  logit,
  logitScale,
  logitTicks,
  niceDomain,
  niceTicks,
  percentDigits,
  tickStep,
} from '../../../src-renderer/charts/scale.js';

describe('nice ticks', () => {
  // d3-scale is an independent implementation of the same 1-2-5 rule.
  const cases: Array<[number, number, number]> = [
    [0, 1, 5],
    [0.713, 0.842, 5],
    [0.5, 0.52, 4],
    [-3.2, 17.9, 6],
    [0.0001, 0.0009, 5],
    [120, 980, 8],
    [0.3312, 0.3391, 5],
  ];
  it.each(cases)('ticks over [%d, %d] with count %d agree with d3-scale', (lo, hi, count) => {
    const expected = scaleLinear().domain([lo, hi]).ticks(count);
    const got = niceTicks(lo, hi, count);
    expect(got.length).toBe(expected.length);
    got.forEach((t, i) => expect(t).toBeCloseTo(expected[i]!, 12));
  });

  it('niceDomain agrees with d3-scale nice()', () => {
    for (const [lo, hi, count] of cases) {
      const expected = scaleLinear().domain([lo, hi]).nice(count).domain();
      const got = niceDomain(lo, hi, count);
      expect(got[0]).toBeCloseTo(expected[0]!, 12);
      expect(got[1]).toBeCloseTo(expected[1]!, 12);
    }
  });

  it('steps are 1, 2 or 5 times a power of ten', () => {
    for (let k = 0; k < 200; k++) {
      const lo = Math.sin(k) * 10;
      const hi = lo + Math.abs(Math.cos(k * 1.7)) * 10 ** ((k % 7) - 3) + 1e-9;
      const step = tickStep(lo, hi, 5);
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
      expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
    }
  });

  it('a zero-width domain gives one tick', () => {
    expect(niceTicks(0.4, 0.4)).toEqual([0.4]);
  });
});

describe('percent axes', () => {
  it('labels need as many decimals as the step', () => {
    expect(percentDigits(0.05)).toBe(0); // 5 points
    expect(percentDigits(0.01)).toBe(0); // 1 point
    expect(percentDigits(0.005)).toBe(1); // 0.5 points
    expect(percentDigits(0.001)).toBe(1);
    expect(percentDigits(0.0002)).toBe(2);
  });

  it('the linear scale maps the domain ends onto the range ends and is affine', () => {
    const s = linearScale([0.7, 0.9], [50, 550], { percent: true });
    expect(s(0.7)).toBeCloseTo(50, 9);
    expect(s(0.9)).toBeCloseTo(550, 9);
    expect(s(0.8)).toBeCloseTo(300, 9);
    expect(s.format(0.75)).toBe('75');
  });

  it('accuracyExtent pads and clamps to [0, 1]', () => {
    expect(accuracyExtent([0.5, 0.7], 0.1)).toEqual([0.48, 0.72]);
    const clamped = accuracyExtent([0.0, 1.0]);
    expect(clamped).toEqual([0, 1]);
    expect(accuracyExtent([null, undefined, Number.NaN])).toBeNull();
    const single = accuracyExtent([0.8])!;
    expect(single[0]).toBeCloseTo(0.79, 12);
    expect(single[1]).toBeCloseTo(0.81, 12);
  });

  it('accuracyScale covers every value', () => {
    const values = [0.712, 0.733, 0.801, 0.645];
    const s = accuracyScale(values, [0, 100]);
    for (const v of values) {
      expect(s(v)).toBeGreaterThanOrEqual(0);
      expect(s(v)).toBeLessThanOrEqual(100);
    }
  });
});

describe('logit scale', () => {
  it('logit agrees with the textbook formula', () => {
    for (const p of [1e-6, 0.01, 0.2, 0.5, 0.73, 0.99, 1 - 1e-6]) {
      expect(logit(p)).toBeCloseTo(Math.log(p / (1 - p)), 9);
    }
    expect(logit(0.5)).toBe(0);
  });

  it('positions are linear in log-odds', () => {
    const s = logitScale([0.1, 0.9], [0, 400]);
    const lo = Math.log(0.1 / 0.9);
    const hi = Math.log(0.9 / 0.1);
    for (const p of [0.1, 0.25, 0.5, 0.6, 0.9]) {
      const expected = ((Math.log(p / (1 - p)) - lo) / (hi - lo)) * 400;
      expect(s(p)).toBeCloseTo(expected, 9);
    }
    // symmetric domain: 0.5 sits in the middle
    expect(s(0.5)).toBeCloseTo(200, 9);
  });

  it('an inverted range (y axes) runs downwards', () => {
    const s = logitScale([0.2, 0.8], [300, 0]);
    expect(s(0.2)).toBeCloseTo(300, 9);
    expect(s(0.8)).toBeCloseTo(0, 9);
  });

  it('values at 0 or 1 stay finite', () => {
    const s = logitScale([0, 1], [0, 100]);
    expect(Number.isFinite(s(0))).toBe(true);
    expect(Number.isFinite(s(1))).toBe(true);
  });

  it('ticks lie inside the domain, ascending, at most count', () => {
    const ticks = logitTicks(0.05, 0.99, 5);
    expect(ticks.length).toBeLessThanOrEqual(5);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (const t of ticks) expect(t >= 0.05 && t <= 0.99).toBe(true);
    expect([...ticks].sort((a, b) => a - b)).toEqual(ticks);
  });

  it('a narrow domain falls back to linear ticks', () => {
    const ticks = logitTicks(0.71, 0.74, 4);
    expect(ticks).toEqual(
      scaleLinear()
        .domain([0.71, 0.74])
        .ticks(4)
        .map((t) => Number(t.toPrecision(12))),
    );
  });

  it('formats ticks as percent', () => {
    const s = logitScale([0.01, 0.99], [0, 1]);
    expect(s.format(0.5)).toBe('50');
    expect(s.format(0.995)).toBe('99.5');
  });
});

describe('logit ticks on a typical accuracy range', () => {
  it('prefers round tens over 5s', () => {
    const ticks = logitTicks(0.1, 0.78, 5);
    for (const t of ticks) expect(Math.round(t * 1000) % 100).toBe(0);
  });
});

describe('outliers and clamping', () => {
  it('flags a value farther from the others than their spread', () => {
    const runs = [0.8, 0.82, 0.845];
    expect(isFarOutside(0.51, runs)).toBe(true); // 0.29 below a 0.045 spread
    expect(isFarOutside(0.78, runs)).toBe(false);
    expect(isFarOutside(0.5, [0.8])).toBe(false); // nothing to squash
  });
  it('clamps into the domain and says so', () => {
    const s = linearScale([0.7, 0.9], [0, 100]);
    expect(clampToDomain(s, 0.5)).toEqual({ value: 0.7, clamped: true });
    expect(clampToDomain(s, 0.8)).toEqual({ value: 0.8, clamped: false });
  });
});

describe('integer axes', () => {
  it('label counts with whole numbers only', () => {
    const s = linearScale([0.5, 2.5], [0, 100], { integer: true, count: 3 });
    expect(s.ticks).toEqual([1, 2]);
    expect(s.format(2)).toBe('2');
  });
});
