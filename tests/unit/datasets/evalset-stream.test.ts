import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import type { DType } from '../../../src-main/core/tensors/dtypes.js';
import {
  EvalSetDigest,
  evalSetHash,
  openEvalSet,
  readEvalSet,
  readEvalSetAsync,
} from '../../../src-main/core/datasets/evalset.js';
import {
  exampleHashes,
  exampleHashesAsync,
  findLeakage,
  findLeakageAsync,
} from '../../../src-main/core/datasets/leakage.js';
import type { InputTransform } from '../../../src-main/core/datasets/transform.js';
import { Float32Converter, toFloat32Input } from '../../../src-main/core/datasets/transform.js';
import { images, labels, writeSafetensors } from './write-safetensors.js';

const root = path.resolve(import.meta.dirname, '../../..');
// written by scripts/fixtures/evalset_hash.py: the hash scheme computed in Python, independently of Tureen
const expected = JSON.parse(
  fs.readFileSync(path.join(root, 'tests/fixtures/evalset-hash/expected.json'), 'utf8'),
) as { scheme: string; hashes: Record<string, string>; multiExamples: string[] };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-evalset-stream-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('eval sets read as a stream', () => {
  it.each(Object.entries(expected.hashes))('hashes %s as the independent computation does', (rel, hash) => {
    const set = readEvalSet(path.join(root, rel));
    expect(set.hash).toBe(hash);
    // the set holds labels, not inputs: nothing of the pixels stays in memory
    for (const input of set.inputs) expect(Object.keys(input)).not.toContain('bytes');
  });

  it('gives the same hash fed in chunks of any size, across tensor boundaries, as over whole tensors', () => {
    const file = path.join(root, 'tests/fixtures/evalset-hash/multi.safetensors');
    const open = openEvalSet(file);
    fs.closeSync(open.fd);
    const raw = fs.readFileSync(file);
    const { layout } = open;
    const tensorBytes = (offset: number, length: number) => raw.subarray(offset, offset + length);
    const whole = evalSetHash(
      layout.inputs.map((i) => ({ ...i, bytes: tensorBytes(i.offset, i.byteLength) })),
      { ...layout.labelTensor, bytes: layout.labelBytes },
      layout.transforms,
      layout.classSubset,
    );
    expect(whole).toBe(expected.hashes['tests/fixtures/evalset-hash/multi.safetensors']);
    const ordered = Buffer.concat([
      ...layout.inputs.map((i) => tensorBytes(i.offset, i.byteLength)),
      layout.labelBytes,
    ]);
    for (const chunk of [1, 7, 333, ordered.byteLength]) {
      const digest = new EvalSetDigest(layout);
      for (let at = 0; at < ordered.byteLength; at += chunk) digest.update(ordered.subarray(at, at + chunk));
      expect(digest.digest(), `chunks of ${chunk}`).toBe(whole);
    }
    const short = new EvalSetDigest(layout);
    short.update(ordered.subarray(0, 10));
    expect(() => short.digest()).toThrow(/before every tensor/);
  });

  it('reads any rows of every input by file offset', () => {
    const file = path.join(root, 'tests/fixtures/evalset-hash/multi.safetensors');
    const set = readEvalSet(file);
    const raw = fs.readFileSync(file);
    const batch = set.batch(5, 9);
    expect(batch.inputs.map((i) => i.name)).toEqual(['extra', 'image', 'zeta']);
    for (const [k, input] of set.inputs.entries()) {
      const want = raw.subarray(input.offset + 5 * input.rowBytes, input.offset + 14 * input.rowBytes);
      expect(Buffer.from(batch.inputs[k]!.bytes).equals(want)).toBe(true);
      expect(batch.inputs[k]!.shape).toEqual([9, ...input.shape.slice(1)]);
    }
    expect(set.batch(set.n - 1, 1).count).toBe(1);
    expect(() => set.batch(set.n - 1, 2)).toThrow(/outside/);
  });

  it('refuses to read rows of a file that changed after it was hashed', () => {
    const file = path.join(tmp, 'changing.safetensors');
    writeSafetensors(file, { image: images(4, (i, j) => i + j), labels: labels([0, 1, 0, 1]) });
    const set = readEvalSet(file);
    writeSafetensors(file, { image: images(4, (i, j) => i * j), labels: labels([0, 1, 0, 1]) });
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    const error = (() => {
      try {
        set.batch(0, 1);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).message).toMatch(/changed since it was read/);
  });

  it('hashes examples for the leakage guard a batch at a time, as the independent computation does', async () => {
    const file = path.join(root, 'tests/fixtures/evalset-hash/multi.safetensors');
    expect(exampleHashes(readEvalSet(file))).toEqual(expected.multiExamples);
    expect(await exampleHashesAsync(await readEvalSetAsync(file))).toEqual(expected.multiExamples);
  });

  it.each(Object.entries(expected.hashes))(
    'reads %s asynchronously to the same set and hash',
    async (rel, hash) => {
      const file = path.join(root, rel);
      const set = await readEvalSetAsync(file);
      const sync = readEvalSet(file);
      expect(set.hash).toBe(hash);
      expect([set.n, set.name, set.fileRole, set.classSubset, set.transforms, set.inputs]).toEqual([
        sync.n,
        sync.name,
        sync.fileRole,
        sync.classSubset,
        sync.transforms,
        sync.inputs,
      ]);
      expect(Array.from(set.labels)).toEqual(Array.from(sync.labels));
    },
  );

  it('finds the same leaks asynchronously', async () => {
    const hold = path.join(tmp, 'leak-hold.safetensors');
    const test = path.join(tmp, 'leak-test.safetensors');
    writeSafetensors(hold, {
      image: images(6, (i, j) => (i * 31 + j) % 256),
      labels: labels([0, 1, 2, 0, 1, 2]),
    });
    writeSafetensors(test, {
      image: images(6, (i, j) => (i < 4 ? (i * 7 + j * 3 + 100) % 256 : ((i === 4 ? 2 : 5) * 31 + j) % 256)),
      labels: labels([1, 1, 1, 1, 0, 0]),
    });
    const sync = findLeakage(readEvalSet(hold), [{ set: readEvalSet(test), role: 'id' }]);
    const async = await findLeakageAsync(await readEvalSetAsync(hold), [
      { set: await readEvalSetAsync(test), role: 'id' },
    ]);
    expect(sync[0]!.examples).toEqual([2, 5]);
    expect(async).toEqual(sync);
  });

  it('leaves the thread free while it hashes a large set asynchronously (the synchronous read does not)', async () => {
    // 48 MiB: six 8 MiB reads; a timer loop counts how often the thread got back in between
    const file = path.join(tmp, 'large.safetensors');
    const n = 3 * 1024;
    writeSafetensors(file, {
      image: { dtype: 'U8', shape: [n, 1, 128, 128], data: new Uint8Array(n * 128 * 128).fill(7) },
      labels: labels(Array.from({ length: n }, (_, i) => i % 3)),
    });
    const ticksDuring = async (work: () => Promise<unknown>) => {
      let ticks = 0;
      let running = true;
      const loop = () => {
        if (!running) return;
        ticks++;
        setImmediate(loop);
      };
      setImmediate(loop);
      await work();
      running = false;
      return ticks;
    };
    const syncTicks = await ticksDuring(async () => readEvalSet(file));
    const asyncTicks = await ticksDuring(() => readEvalSetAsync(file));
    expect(syncTicks).toBe(0);
    expect(asyncTicks).toBeGreaterThanOrEqual(6);
  });
});

describe('Float32Converter', () => {
  type Case = [string, DType, number[], Uint8Array, InputTransform | undefined];
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 11) % 256);
  const floats = (n: number) => {
    const values = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 300);
    return new Uint8Array(values.buffer);
  };
  const ints = (n: number) =>
    new Uint8Array(Int16Array.from({ length: n }, (_, i) => ((i * 97) % 2000) - 1000).buffer);
  const imagenet = {
    scale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    channel_axis: 1,
  };
  const cases: Case[] = [
    ['u8, per-channel transform', 'u8', [6, 3, 4, 5], bytes(360, 7), imagenet],
    [
      'u8, one mean',
      'u8',
      [6, 1, 4, 4],
      bytes(96, 13),
      { scale: 1 / 255, mean: [0.5], std: [0.25], channel_axis: 1 },
    ],
    ['u8, channels last', 'u8', [6, 4, 5, 3], bytes(360, 3), { ...imagenet, channel_axis: 3 }],
    [
      'u8, channel axis 2',
      'u8',
      [6, 2, 3, 5],
      bytes(180, 5),
      { scale: 1, mean: [1, 2, 3], std: [2, 3, 4], channel_axis: 2 },
    ],
    [
      'u8, one mean per example (axis 0)',
      'u8',
      [6, 2, 2],
      bytes(24, 9),
      { scale: 1, mean: [0, 1, 2, 3, 4, 5], std: [1, 2, 3, 4, 5, 6], channel_axis: 0 },
    ],
    ['u8, no transform', 'u8', [6, 1, 2, 2], bytes(24, 17), undefined],
    ['i16, per-channel transform', 'i16', [6, 3, 2, 2], ints(72), { ...imagenet, scale: 0.01 }],
    ['f32, one mean', 'f32', [6, 1, 2, 3], floats(36), { scale: 2, mean: [0.1], std: [3], channel_axis: 1 }],
    ['f32, no transform', 'f32', [6, 1, 2, 3], floats(36), undefined],
  ];

  it.each(cases)(
    '%s: batches equal the whole-tensor formula bit for bit',
    (_name, dtype, shape, stored, transform) => {
      const whole = toFloat32Input(dtype, shape, stored, transform);
      const converter = new Float32Converter(dtype, shape, transform);
      const n = shape[0]!;
      const rowBytes = stored.byteLength / n;
      const rowElements = whole.length / n;
      const out = new Float32Array(4 * rowElements);
      for (const [start, count] of [
        [0, 6],
        [0, 4],
        [1, 3],
        [4, 2],
        [5, 1],
      ] as const) {
        // copied out of place, as a batch read from a file is
        const slice = stored.slice(start * rowBytes, (start + count) * rowBytes);
        const got =
          count <= 4 ? converter.convert(slice, out, start) : converter.convert(slice, undefined, start);
        const want = whole.subarray(start * rowElements, (start + count) * rowElements);
        expect(
          Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(
            Buffer.from(want.buffer, want.byteOffset, want.byteLength),
          ),
          `rows ${start}+${count}`,
        ).toBe(true);
      }
    },
  );
});
