import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src-main/common/canonical-json.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { images, labels, writeSafetensors } from './write-safetensors.js';
import type { TestTensor } from './write-safetensors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-evalset-hash-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const baseTransform = { scale: 1 / 255, mean: [0.5], std: [0.25], channel_axis: 1 };

function hashOf(name: string, tensors: Record<string, TestTensor>, metadata: Record<string, string>): string {
  const file = path.join(tmp, `${name}.safetensors`);
  writeSafetensors(file, tensors, metadata);
  return readEvalSet(file).hash;
}

describe('eval-set hash', () => {
  const pixels = () => images(6, (i, j) => (i * 37 + j * 11) % 256);
  const labelList = [0, 1, 2, 0, 1, 2];
  const reference = hashOf(
    'reference',
    { image: pixels(), labels: labels(labelList) },
    { 'tureen.transform': JSON.stringify({ image: baseTransform }) },
  );

  // Each variant changes one thing the model sees or is scored by; every one must change the hash.
  type Variant = [string, Record<string, TestTensor>, Record<string, typeof baseTransform>];
  const flipped = pixels();
  (flipped.data as Uint8Array)[17]! ^= 1;
  const variants: Array<[string, Record<string, TestTensor>, Record<string, string>]> = (
    [
      ['mean', { image: pixels(), labels: labels(labelList) }, { image: { ...baseTransform, mean: [0.4] } }],
      ['std', { image: pixels(), labels: labels(labelList) }, { image: { ...baseTransform, std: [0.3] } }],
      ['scale', { image: pixels(), labels: labels(labelList) }, { image: { ...baseTransform, scale: 1 } }],
      [
        'channel_axis',
        { image: pixels(), labels: labels(labelList) },
        { image: { ...baseTransform, channel_axis: 2 } },
      ],
      ['no transform', { image: pixels(), labels: labels(labelList) }, {}],
      ['one pixel', { image: flipped, labels: labels(labelList) }, { image: baseTransform }],
      ['one label', { image: pixels(), labels: labels([0, 1, 2, 0, 1, 0]) }, { image: baseTransform }],
      ['input name', { pixels: pixels(), labels: labels(labelList) }, { pixels: baseTransform }],
      [
        'label dtype',
        { image: pixels(), labels: { dtype: 'I32', shape: [6], data: Int32Array.from(labelList) } },
        { image: baseTransform },
      ],
    ] satisfies Variant[]
  ).map(([name, tensors, transform]): [string, Record<string, TestTensor>, Record<string, string>] => [
    name,
    tensors,
    Object.keys(transform).length ? { 'tureen.transform': JSON.stringify(transform) } : {},
  ]);

  it.each(variants)('changes when the %s changes', (name, tensors, metadata) => {
    expect(hashOf(name.replace(/\W/g, '-'), tensors, metadata)).not.toBe(reference);
  });

  it('changes with the class subset, and not with the name, role or key order', () => {
    const tensors = () => ({ image: pixels(), labels: labels(labelList) });
    const transform = { 'tureen.transform': JSON.stringify({ image: baseTransform }) };
    expect(hashOf('subset', tensors(), { ...transform, 'tureen.class_subset': '[0,1,2]' })).not.toBe(
      reference,
    );
    expect(hashOf('subset2', tensors(), { ...transform, 'tureen.class_subset': '[0,1,3]' })).not.toBe(
      hashOf('subset3', tensors(), { ...transform, 'tureen.class_subset': '[0,1,2]' }),
    );
    expect(hashOf('renamed', tensors(), { ...transform, 'tureen.name': 'x', 'tureen.role': 'shift' })).toBe(
      reference,
    );
    const reordered = JSON.stringify({
      image: { channel_axis: 1, std: [0.25], mean: [0.5], scale: 1 / 255 },
    });
    expect(hashOf('reordered', tensors(), { 'tureen.transform': reordered })).toBe(reference);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps every nested field', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 2, y: 3 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[1,{"y":3,"z":2}]},"b":1}',
    );
    expect(canonicalJson({ image: { mean: [0.5] } })).not.toBe(canonicalJson({ image: { mean: [0.4] } }));
  });
  it('refuses values without a JSON form instead of dropping them', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson([undefined])).toThrow(/undefined/);
  });
});
