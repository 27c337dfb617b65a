import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { seededRandom } from '../checkpoints/build-onnx.js';
import { mutate } from '../checkpoints/mutate.js';
import { images, labels, writeSafetensors } from './write-safetensors.js';

/** Eval sets get the checkpoints' hostile-input guarantees: one parser, typed errors naming file and field. */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-evalset-hostile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function evalSet(tensors: Parameters<typeof writeSafetensors>[1], metadata: Record<string, string> = {}) {
  const file = path.join(tmp, `set-${n++}.safetensors`);
  writeSafetensors(file, tensors, metadata);
  return file;
}

function refusal(file: string): TureenError {
  try {
    readEvalSet(file);
  } catch (error) {
    if (error instanceof TureenError) return error;
    throw error;
  }
  throw new Error(`${file} should be refused`);
}

const transform = (spec: Record<string, unknown>) => ({
  'tureen.transform': JSON.stringify({ image: spec }),
});

describe('eval sets that must be refused', () => {
  it('refuses an eval set with no examples', () => {
    const file = evalSet({ image: images(0, () => 0), labels: labels([]) });
    const error = refusal(file);
    expect(error.code).toBe('bad_evalset');
    expect(error.message).toContain(`${file} holds 0 examples`);
  });

  it('refuses a channel axis outside the input and mean/std of the wrong length, naming the input', () => {
    // images are [N, 1, 4, 4]: axis 1 has one channel, axis 2 has four
    const data = () => ({ image: images(2, (i, j) => i + j), labels: labels([0, 1]) });
    const axis = refusal(evalSet(data(), transform({ mean: [0.5], std: [0.25], channel_axis: 9 })));
    expect(axis.message).toContain('"image": channel_axis 9 is outside the input\'s 4 axes [2,1,4,4]');
    const length = refusal(evalSet(data(), transform({ mean: [0.5, 0.4, 0.3], std: [1, 1, 1] })));
    expect(length.message).toContain('3 mean/std values, but axis 1 of [2,1,4,4] has 1 channels');
    expect(length.detail).toMatchObject({ tensor: 'image' });
    // one value per channel along a valid axis is accepted
    const perChannel = readEvalSet(
      evalSet(data(), transform({ mean: [1, 2, 3, 4], std: [1, 1, 1, 1], channel_axis: 2 })),
    );
    expect(perChannel.transforms.image!.channel_axis).toBe(2);
  });

  it('refuses a header whose declared length is one byte short, and bytes appended after the data', () => {
    const file = evalSet({ image: images(2, () => 7), labels: labels([0, 1]) });
    const bytes = fs.readFileSync(file);
    const short = Buffer.from(bytes);
    short.writeBigUInt64LE(short.readBigUInt64LE(0) - 1n, 0);
    fs.writeFileSync(file, short);
    expect(refusal(file).message).toContain('the header length is wrong');
    fs.writeFileSync(file, Buffer.concat([bytes, Buffer.from([0])]));
    expect(refusal(file).code).toBe('bad_evalset');
  });

  it('refuses a FIFO and a link to /dev/zero at once instead of blocking or reading forever', () => {
    const fifo = path.join(tmp, 'fifo.safetensors');
    execFileSync('mkfifo', [fifo]);
    expect(refusal(fifo).message).toBe(`${fifo} is a FIFO (named pipe); Tureen reads only regular files`);
    const zero = path.join(tmp, 'zero.safetensors');
    fs.symlinkSync('/dev/zero', zero);
    expect(refusal(zero).message).toContain('is a character device');
  });
});

describe('seeded fuzz of eval sets: a typed error or a valid parse, never a crash', () => {
  it('1500 mutated eval sets (with transform and class subset) through the eval-set reader', () => {
    const seed = fs.readFileSync(
      evalSet(
        { image: images(6, (i, j) => (i * 31 + j) % 256), labels: labels([0, 1, 2, 0, 1, 2]) },
        {
          'tureen.role': 'holdout',
          'tureen.class_subset': '[0, 3, 5]',
          ...transform({ scale: 1 / 255, mean: [0.5], std: [0.25], channel_axis: 1 }),
        },
      ),
    );
    const random = seededRandom(77);
    const target = path.join(tmp, 'fuzz.safetensors');
    const counts = { parsed: 0, refused: 0 };
    for (let i = 0; i < 1500; i++) {
      fs.writeFileSync(target, mutate(seed, random));
      let outcome: { n: number } | TureenError;
      try {
        outcome = readEvalSet(target);
      } catch (error) {
        if (!(error instanceof TureenError))
          throw new Error(`case ${i} (seed 77) threw a non-Tureen error`, { cause: error });
        outcome = error;
      }
      if (outcome instanceof TureenError) {
        expect(outcome.message, `case ${i}`).toContain(target);
        counts.refused++;
      } else {
        expect(outcome.n, `case ${i}`).toBeGreaterThan(0);
        counts.parsed++;
      }
    }
    expect(counts.parsed + counts.refused).toBe(1500);
    expect(counts.refused).toBeGreaterThan(500);
  });
});
