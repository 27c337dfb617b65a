import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { importImageFolder, resolveImportOptions } from '../../../src-main/core/datasets/import/import.js';
import { readPreprocessConfig } from '../../../src-main/core/datasets/import/preprocess-config.js';
import { tempDir } from '../foundation/helpers.js';
import { ensureHostBuilt } from '../inference/build-host.js';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/image-folders');
const writeJson = (value: unknown) => {
  const file = path.join(tempDir(), 'config.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
};

// Shapes as the Hugging Face and timm hubs publish them (CLIP's and ViT's image processors, a timm
// model's config.json with pretrained_cfg).
const CLIP_PROCESSOR = {
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  do_normalize: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  image_processor_type: 'CLIPImageProcessor',
  resample: 3,
  size: { shortest_edge: 224 },
};

describe('--preprocess', () => {
  it('reads a Hugging Face preprocessor_config.json (CLIP)', () => {
    expect(readPreprocessConfig(writeJson(CLIP_PROCESSOR))).toEqual({
      source: 'huggingface',
      size: 224,
      crop: 224,
      mean: CLIP_PROCESSOR.image_mean,
      std: CLIP_PROCESSOR.image_std,
      resample: 'bicubic',
    });
  });

  it('refuses a processor that resizes to a fixed height and width, naming the field', () => {
    const vit = {
      do_resize: true,
      size: { height: 224, width: 224 },
      image_mean: [0.5, 0.5, 0.5],
      resample: 2,
    };
    expect(() => readPreprocessConfig(writeJson(vit))).toThrow(/size .*aspect ratio/);
  });

  it('reads a timm pretrained config: Resize(floor(size / crop_pct)) + CenterCrop(size)', () => {
    const config = {
      architecture: 'resnet50',
      pretrained_cfg: {
        input_size: [3, 224, 224],
        interpolation: 'bicubic',
        crop_pct: 0.95,
        crop_mode: 'center',
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
      },
    };
    expect(readPreprocessConfig(writeJson(config))).toMatchObject({
      source: 'timm',
      channels: 3,
      size: 235, // floor(224 / 0.95) = floor(235.78...)
      crop: 224,
      resample: 'bicubic',
    });
  });

  it('lets flags win over the config, and keeps Hugging Face crop offsets', () => {
    const options = resolveImportOptions({
      folder: '.',
      out: 'x.safetensors',
      preprocess: writeJson(CLIP_PROCESSOR),
      crop: 200,
      mean: [0.5],
      std: [0.5],
    });
    expect(options).toMatchObject({
      size: 224,
      crop: 200,
      mean: [0.5],
      std: [0.5],
      resample: 'bicubic',
      crop_offsets: 'huggingface',
      preprocess_source: 'huggingface',
    });
  });

  it('refuses a file that is neither', () => {
    expect(() => readPreprocessConfig(writeJson({ hello: 1 }))).toThrow(/neither a Hugging Face/);
  });

  it('imports with a timm config exactly as PIL resizes (bicubic, 40 -> 36)', async () => {
    ensureHostBuilt();
    const preprocess = writeJson({
      input_size: [3, 36, 36],
      crop_pct: 0.9,
      interpolation: 'bicubic',
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
    });
    const result = await importImageFolder({
      folder: path.join(fixtures, 'pets'),
      out: path.join(tempDir(), 'timm.safetensors'),
      preprocess,
      workers: 1,
    });
    expect(result.options).toMatchObject({
      size: 40,
      crop: 36,
      resample: 'bicubic',
      preprocess_source: 'timm',
    });
    const refs = JSON.parse(fs.readFileSync(path.join(fixtures, 'references.json'), 'utf8')) as {
      images: Array<{ file: string; outputs: Record<string, { pixels: string }> }>;
    };
    const set = readEvalSet(result.path);
    const per = 3 * 36 * 36;
    refs.images.forEach((ref, i) => {
      const expected = Buffer.from(ref.outputs['rgb-s40-c36-bicubic']!.pixels, 'base64');
      expect(
        Buffer.from(set.batch(0, set.n).inputs[0]!.bytes.subarray(i * per, (i + 1) * per)).equals(expected),
        ref.file,
      ).toBe(true);
    });
    expect(set.transforms.image).toEqual({
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      channel_axis: 1,
    });
  });
});
