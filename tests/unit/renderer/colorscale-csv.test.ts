import { describe, expect, it } from 'vitest';
import { columnScale, MIX_HIGH, MIX_LOW, scaleBackground } from '../../../src-renderer/lib/colorscale.js';
import { csvField, toCsv } from '../../../src-renderer/lib/csv.js';

describe('columnScale', () => {
  it('maps a column linearly onto [0, 1] and skips missing values', () => {
    const scale = columnScale([0.7, null, 0.9, 0.8]);
    expect(scale.min).toBe(0.7);
    expect(scale.max).toBe(0.9);
    expect(scale.position(0.7)).toBe(0);
    expect(scale.position(0.9)).toBe(1);
    expect(scale.position(0.8)).toBeCloseTo(0.5, 12);
    expect(scale.position(null)).toBeNull();
  });
  it('gives a constant column no colour', () => {
    expect(columnScale([0.5, 0.5]).position(0.5)).toBeNull();
    expect(columnScale([]).position(0.5)).toBeNull();
  });
  it('grows the share of the scale colour monotonically', () => {
    expect(scaleBackground(null)).toBeNull();
    expect(scaleBackground(0)).toContain(`${MIX_LOW.toFixed(1)}%`);
    expect(scaleBackground(1)).toContain(`${MIX_HIGH.toFixed(1)}%`);
  });
});

describe('CSV', () => {
  it('quotes fields per RFC 4180', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(null)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(0.25)).toBe('0.25');
  });
  it('joins rows with CRLF and ends with one', () => {
    expect(
      toCsv(
        ['model', 'top1'],
        [
          ['greedy soup', 0.81],
          ['x,y', null],
        ],
      ),
    ).toBe('model,top1\r\ngreedy soup,0.81\r\n"x,y",\r\n');
  });
});
