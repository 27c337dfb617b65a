import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isReallyWithin, isWithin, realPathOf } from '../../../src-main/core/within.js';
import { tempDir } from './helpers.js';

describe('isWithin', () => {
  it('is true for the folder itself and anything below it, including a child named ..x', () => {
    expect(isWithin('/k', '/k')).toBe(true);
    expect(isWithin('/k', '/k/a/b.onnx')).toBe(true);
    expect(isWithin('/k', '/k/..x')).toBe(true);
    expect(isWithin('/k', '/k/..x/model.onnx')).toBe(true);
    expect(isWithin('/k/', '/k/a')).toBe(true);
    expect(isWithin('/', '/etc/passwd')).toBe(true);
  });

  it('is false for a parent, a sibling sharing the prefix, and a climb out', () => {
    expect(isWithin('/k/a', '/k')).toBe(false);
    expect(isWithin('/k', '/kitchen/a')).toBe(false);
    expect(isWithin('/k', '/k/../secret')).toBe(false);
    expect(isWithin('/k', '/k/a/../../secret')).toBe(false);
  });
});

describe('realPathOf', () => {
  it('resolves links of the nearest existing folder of a path that does not exist yet', () => {
    const inside = fs.realpathSync(tempDir('within-in-'));
    const outside = fs.realpathSync(tempDir('within-out-'));
    fs.symlinkSync(outside, path.join(inside, 'link'));
    const planned = path.join(inside, 'link', 'new', 'soup.onnx');
    expect(realPathOf(planned)).toBe(path.join(outside, 'new', 'soup.onnx'));
    expect(isWithin(inside, planned)).toBe(true);
    expect(isReallyWithin(inside, planned)).toBe(false);
    expect(realPathOf(path.join(inside, 'plain', 'x'))).toBe(path.join(inside, 'plain', 'x'));
  });
});
