import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResampleFilter } from '../../../src-main/core/datasets/import/resample.js';
import { resample } from '../../../src-main/core/datasets/import/resample.js';

/** PIL's Image.resize on seeded noise, written by scripts/fixtures/make_resample_cases.py. */
const fixture = JSON.parse(
  fs.readFileSync(path.resolve(import.meta.dirname, '../../fixtures/resample/cases.json'), 'utf8'),
) as {
  pil: string;
  cases: Array<{
    width: number;
    height: number;
    channels: number;
    outWidth: number;
    outHeight: number;
    filter: ResampleFilter;
    input: string;
    output: string;
  }>;
};

describe(`resample equals PIL ${fixture.pil} byte for byte`, () => {
  it.each(
    fixture.cases.map(
      (c) => [`${c.width}x${c.height}x${c.channels} to ${c.outWidth}x${c.outHeight} ${c.filter}`, c] as const,
    ),
  )('%s', (_name, c) => {
    const out = resample(
      {
        width: c.width,
        height: c.height,
        channels: c.channels,
        data: new Uint8Array(Buffer.from(c.input, 'base64')),
      },
      c.outWidth,
      c.outHeight,
      c.filter,
    );
    expect([out.width, out.height, out.channels]).toEqual([c.outWidth, c.outHeight, c.channels]);
    const expected = Buffer.from(c.output, 'base64');
    const got = Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength);
    const differing = expected.reduce((a, v, i) => a + (v === got[i] ? 0 : 1), 0);
    expect(differing).toBe(0);
  });
});
