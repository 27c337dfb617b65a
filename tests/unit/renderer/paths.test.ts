import { describe, expect, it } from 'vitest';
import { checkpointName, kitchenOf, parseAlphas, shortRunNames } from '../../../src-renderer/lib/paths.js';

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

describe('shortRunNames', () => {
  it('drops hyperparameter tails when the rest still tells runs apart', () => {
    const names = [
      'sweep/run-01_lr=1e-4_wd=0.1_ep=10_aug=on',
      'sweep/run-02_lr=3e-5_wd=0_ep=5_aug=off',
      'base',
    ];
    expect([...shortRunNames(names).values()]).toEqual(['sweep/run-01', 'sweep/run-02', 'base']);
  });
  it('keeps full names when shortening would merge two runs', () => {
    const names = ['sweep/run_lr=1e-4', 'sweep/run_lr=3e-5'];
    expect([...shortRunNames(names).values()]).toEqual(names);
    expect(shortRunNames(['lr=1e-4_wd=0']).get('lr=1e-4_wd=0')).toBe('lr=1e-4_wd=0');
  });
});

describe('kitchenOf', () => {
  it('finds the innermost registered folder holding a file', () => {
    const kitchens = [{ path: '/d/demo' }, { path: '/d/demo/sub' }, { path: '/d/demo2' }];
    expect(kitchenOf('/d/demo/data/test.safetensors', kitchens)?.path).toBe('/d/demo');
    expect(kitchenOf('/d/demo/sub/x.onnx', kitchens)?.path).toBe('/d/demo/sub');
    expect(kitchenOf('/d/demo2/x.onnx', kitchens)?.path).toBe('/d/demo2');
    expect(kitchenOf('/elsewhere/x.onnx', kitchens)).toBeNull();
  });
});
