import { describe, expect, it } from 'vitest';
import {
  cost,
  decimalsColumn,
  deltaPoints,
  hyperparameter,
  percent,
  pValue,
  scientificColumn,
} from '../../../src-renderer/lib/format.js';

describe('percent', () => {
  it('prints fractions as percent with two decimals, and a dash when unknown', () => {
    expect(percent(0.8038)).toBe('80.38');
    expect(percent(1)).toBe('100.00');
    expect(percent(0.123456, 1)).toBe('12.3');
    expect(percent(null)).toBe('—');
    expect(percent(Number.NaN)).toBe('—');
  });
});

describe('pValue', () => {
  it('uses three decimals and a floor of < 0.001', () => {
    expect(pValue(0.04321)).toBe('0.043');
    expect(pValue(1)).toBe('1.000');
    expect(pValue(0.0009)).toBe('< 0.001');
    expect(pValue(undefined)).toBe('—');
  });
});

describe('deltaPoints', () => {
  it('signs differences in percentage points with a real minus sign', () => {
    expect(deltaPoints(0.0042)).toBe('+0.42');
    expect(deltaPoints(-0.0105)).toBe('−1.05');
    expect(deltaPoints(0.000001)).toBe('0.00');
  });
});

describe('hyperparameter', () => {
  it('writes learning rates in short scientific notation and keeps integers', () => {
    expect(hyperparameter(3e-5)).toBe('3e-5');
    expect(hyperparameter(0.00012)).toBe('1.2e-4');
    expect(hyperparameter(0.1)).toBe('0.1');
    expect(hyperparameter(10)).toBe('10');
    expect(hyperparameter(0.333333)).toBe('0.3333');
    expect(hyperparameter('adamw')).toBe('adamw');
    expect(hyperparameter(true)).toBe('true');
    expect(hyperparameter(null)).toBe('—');
  });
});

describe('cost', () => {
  it('prints relative inference cost', () => {
    expect(cost(1)).toBe('1×');
    expect(cost(12)).toBe('12×');
    expect(cost(null)).toBe('—');
  });
});

describe('scientificColumn', () => {
  it('puts a learning-rate column in scientific notation throughout', () => {
    const values = [3e-4, 1e-2, 1.5e-3];
    expect(scientificColumn(values)).toBe(true);
    expect(values.map((v) => hyperparameter(v, true))).toEqual(['3e-4', '1e-2', '1.5e-3']);
    expect(scientificColumn([0, 0.1, 0.05, 4])).toBe(false);
  });
});

describe('decimalsColumn', () => {
  it('lines up a column of measured numbers and leaves set hyperparameters as written', () => {
    const loss = [0.3311, 0.85, 0.425, 0.9999];
    const digits = decimalsColumn(loss);
    expect(digits).toBe(4);
    expect(loss.map((v) => hyperparameter(v, false, digits))).toEqual([
      '0.3311',
      '0.8500',
      '0.4250',
      '0.9999',
    ]);
    expect(decimalsColumn([0.1, 0.05, 0, 0.01])).toBeNull(); // weight decay
    expect(decimalsColumn([8e-5, 1.2e-4, 1e-3])).toBeNull(); // learning rates stay scientific
    expect(decimalsColumn([101, 102])).toBeNull(); // seeds
    expect(decimalsColumn([0.123, 'off'])).toBeNull(); // not all numbers
    expect(decimalsColumn([0.123456, 0.5])).toBe(4); // at most 4
    expect(hyperparameter(3e-5, true, 4)).toBe('3e-5'); // scientific columns keep their notation
  });
});
