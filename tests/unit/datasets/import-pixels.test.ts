import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareFile } from '../../../src-main/core/datasets/import/preprocess.js';
import type { ResampleFilter } from '../../../src-main/core/datasets/import/resample.js';

/** PIL's outputs, written by scripts/fixtures/make_image_folders.py (torchvision's Resize + CenterCrop). */
const root = path.resolve(import.meta.dirname, '../../fixtures/image-folders');
interface Config {
  id: string;
  size: number;
  crop: number;
  channels: 1 | 3;
  resample: ResampleFilter;
}
interface References {
  pil: string;
  configs: Config[];
  images: Array<{ file: string; outputs: Record<string, { shape: number[]; pixels: string }> }>;
}
const refs = JSON.parse(fs.readFileSync(path.join(root, 'references.json'), 'utf8')) as References;

describe('import pixels against PIL (torchvision Resize + CenterCrop on PIL images)', () => {
  for (const config of refs.configs) {
    it(`${config.id}: every image matches PIL`, async () => {
      let total = 0;
      let absSum = 0;
      let max = 0;
      const rows: string[] = [];
      for (const image of refs.images) {
        const expected = Buffer.from(image.outputs[config.id]!.pixels, 'base64');
        const got = await prepareFile(path.join(root, 'pets', image.file), {
          channels: config.channels,
          size: config.size,
          crop: config.crop,
          resample: config.resample,
          cropOffsets: 'torchvision',
        });
        expect([config.channels, got.height, got.width]).toEqual(image.outputs[config.id]!.shape);
        let imageMax = 0;
        let imageSum = 0;
        for (let i = 0; i < expected.length; i++) {
          const d = Math.abs(expected[i]! - got.planar[i]!);
          imageSum += d;
          imageMax = Math.max(imageMax, d);
        }
        total += expected.length;
        absSum += imageSum;
        max = Math.max(max, imageMax);
        rows.push(`${image.file}: mean ${(imageSum / expected.length).toFixed(4)} max ${imageMax}`);
      }
      console.log(
        `${config.id} (PIL ${refs.pil}): mean abs diff ${(absSum / total).toFixed(4)}, max ${max}\n  ${rows.join('\n  ')}`,
      );
      expect(absSum / total).toBeLessThanOrEqual(1);
      expect(max).toBeLessThanOrEqual(8);
    });
  }
});

describe('the PIL references are discriminating', () => {
  it('bilinear output differs from the bicubic references (an exact match above is not vacuous)', async () => {
    const config = refs.configs.find((c) => c.resample === 'bicubic')!;
    const image = refs.images[0]!;
    const expected = Buffer.from(image.outputs[config.id]!.pixels, 'base64');
    const got = await prepareFile(path.join(root, 'pets', image.file), {
      ...config,
      resample: 'bilinear',
      cropOffsets: 'torchvision',
    });
    let differing = 0;
    for (let i = 0; i < expected.length; i++) if (expected[i] !== got.planar[i]) differing++;
    expect(differing).toBeGreaterThan(expected.length / 4);
  });
});
