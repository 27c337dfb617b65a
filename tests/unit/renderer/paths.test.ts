import { describe, expect, it } from 'vitest';
import { checkpointName, parseAlphas } from '../../../src-renderer/lib/paths.js';

describe('checkpointName', () => {
  it('names a checkpoint by its run folder relative to the kitchen', () => {
    expect(checkpointName('/d/demo/sweep/run-01_lr=1e-4/model.onnx', ['/d/demo'])).toBe(
      'sweep/run-01_lr=1e-4',
    );
    expect(checkpointName('/d/demo/base/model.onnx', ['/other', '/d/demo'])).toBe('base');
    expect(checkpointName('/x/y/weights.safetensors')).toBe('y/weights.safetensors');
    expect(checkpointName('C:\\runs\\a\\model.onnx', ['C:\\runs'])).toBe('a');
  });
});

describe('parseAlphas', () => {
  it('reads lists and inclusive ranges', () => {
    expect(parseAlphas('0, 0.5 ,1')).toEqual([0, 0.5, 1]);
    expect(parseAlphas('0:1:0.25')).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseAlphas('0:1:0.1')).toHaveLength(11);
    expect(parseAlphas('1 0 1')).toEqual([0, 1]);
  });
  it('explains bad input', () => {
    expect(typeof parseAlphas('')).toBe('string');
    expect(typeof parseAlphas('a, b')).toBe('string');
    expect(typeof parseAlphas('0, 3')).toBe('string');
    expect(typeof parseAlphas('1:0:0.1')).toBe('string');
  });
});
