import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main.js';
import { readSafetensorsHeader } from '../../../src-main/core/checkpoints/safetensors.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { importImageFolder } from '../../../src-main/core/datasets/import/import.js';
import { tempDir } from '../foundation/helpers.js';
import { ensureHostBuilt } from '../inference/build-host.js';

// Folders and PIL references written by scripts/fixtures/make_image_folders.py.
const fixtures = path.resolve(import.meta.dirname, '../../fixtures/image-folders');
const pets = path.join(fixtures, 'pets');
const broken = path.join(fixtures, 'broken');
const PETS_FILES = [
  'cat/a_rgb.jpg',
  'cat/b_grey.png',
  'cat/c_lossless.webp',
  'cat/d_lossy.webp',
  'dog/e_frames.gif',
  'dog/f_rgb.bmp',
  'dog/g_rgb.tif',
  'dog/h_rotated.jpg',
  'fish/i_grey.bmp',
  'fish/j_palette.bmp',
  'fish/k_grey.jpg',
  'fish/l_alpha.png',
];
interface References {
  images: Array<{ file: string; outputs: Record<string, { shape: number[]; pixels: string }> }>;
}
const refs = JSON.parse(fs.readFileSync(path.join(fixtures, 'references.json'), 'utf8')) as References;

beforeAll(() => {
  // The decoder pool runs compiled JavaScript on worker threads (out/node).
  ensureHostBuilt();
});

describe('tureen data import: labels', () => {
  it('labels class folders sorted by name; pixels equal PIL through the worker pool', async () => {
    const out = path.join(tempDir(), 'pets.safetensors');
    const result = await importImageFolder({
      folder: pets,
      out,
      size: 32,
      crop: 28,
      role: 'shift',
      workers: 2,
    });
    expect(result.classes).toEqual(['cat', 'dog', 'fish']);
    expect(result.classSubset).toBeNull();
    expect(result.shape).toEqual([12, 3, 28, 28]);
    expect(result.skipped).toEqual([]);
    const set = readEvalSet(out);
    expect(Array.from(set.labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(set.hash).toBe(result.hash);
    expect(set.fileRole).toBe('shift');
    expect(set.name).toBe('pets');
    const pixels = set.batch(0, set.n).inputs.find((i) => i.name === 'image')!;
    expect(pixels.dtype.toLowerCase()).toBe('u8');
    const per = 3 * 28 * 28;
    expect(refs.images.map((r) => r.file)).toEqual(PETS_FILES);
    refs.images.forEach((ref, i) => {
      const expected = Buffer.from(ref.outputs['rgb-s32-c28']!.pixels, 'base64');
      expect(Buffer.from(pixels.bytes.subarray(i * per, (i + 1) * per)).equals(expected), ref.file).toBe(
        true,
      );
    });
  });

  it('takes label order from --classes, and records a class subset when the folder covers only some', async () => {
    const dir = tempDir();
    const reordered = await importImageFolder({
      folder: pets,
      out: path.join(dir, 'a.safetensors'),
      size: 24,
      crop: 24,
      classes: path.join(fixtures, 'classes-reordered.txt'),
      workers: 1,
    });
    expect(reordered.classes).toEqual(['fish', 'cat', 'dog']);
    // torchvision walks the class folders by name, so examples stay in folder order; labels follow the file.
    expect(Array.from(readEvalSet(reordered.path).labels)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0]);

    const subset = await importImageFolder({
      folder: pets,
      out: path.join(dir, 'b.safetensors'),
      size: 24,
      crop: 24,
      classes: path.join(fixtures, 'classes-superset.txt'),
      workers: 1,
    });
    const set = readEvalSet(subset.path);
    expect(set.classSubset).toEqual([1, 2, 4]);
    expect(Array.from(set.labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it('refuses a folder that is not in the classes file, naming it', async () => {
    const classes = path.join(tempDir(), 'classes.txt');
    fs.writeFileSync(classes, 'cat\ndog\n');
    await expect(
      importImageFolder({ folder: pets, out: path.join(tempDir(), 'x.safetensors'), crop: 8, classes }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('"fish"') });
  });
});

describe('tureen data import: metadata and determinism', () => {
  it('stores uint8 NCHW, int64 labels, the transform and the recipe of the import', async () => {
    const out = path.join(tempDir(), 'grey.safetensors');
    await importImageFolder({
      folder: pets,
      out,
      size: 24,
      crop: 24,
      channels: 1,
      mean: [0.5],
      std: [0.25],
      input: 'pixels',
      name: 'pets-grey',
      workers: 0,
    });
    const header = readSafetensorsHeader(out);
    const byName = new Map(header.tensors.map((t) => [t.name, t]));
    expect(byName.get('labels')).toMatchObject({ dtype: 'i64', shape: [12] });
    expect(byName.get('pixels')).toMatchObject({ dtype: 'u8', shape: [12, 1, 24, 24] });
    const meta = header.metadata;
    expect(meta['tureen.name']).toBe('pets-grey');
    expect(JSON.parse(meta['tureen.transform']!)).toEqual({
      pixels: { scale: 1 / 255, mean: [0.5], std: [0.25], channel_axis: 1 },
    });
    const recipe = JSON.parse(meta['tureen.import']!) as Record<string, unknown>;
    expect(recipe).toMatchObject({
      schema: 'tureen/data-import-recipe@1',
      tool: { name: 'tureen', version: expect.stringMatching(/^\d+\.\d+\.\d+/) },
      source: pets,
      options: {
        size: 24,
        crop: 24,
        channels: 1,
        resample: 'bilinear',
        mean: [0.5],
        std: [0.25],
        input: 'pixels',
      },
      classes: ['cat', 'dog', 'fish'],
      skipped: [],
    });
    // The grey outputs equal PIL's convert("L") + resize + crop.
    const set = readEvalSet(out);
    const per = 24 * 24;
    refs.images.forEach((ref, i) => {
      const expected = Buffer.from(ref.outputs['grey-s24-c24']!.pixels, 'base64');
      expect(
        Buffer.from(set.batch(0, set.n).inputs[0]!.bytes.subarray(i * per, (i + 1) * per)).equals(expected),
        ref.file,
      ).toBe(true);
    });
  });

  it('gives the same bytes and hash whatever the number of decoder threads', async () => {
    const dir = tempDir();
    const results = [];
    for (const workers of [0, 1, 3]) {
      results.push(
        await importImageFolder({
          folder: pets,
          out: path.join(dir, `w${workers}.safetensors`),
          size: 40,
          crop: 36,
          workers,
        }),
      );
    }
    const bytes = results.map((r) => fs.readFileSync(r.path));
    expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
    expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
    expect(new Set(results.map((r) => r.hash)).size).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual(['w0.safetensors', 'w1.safetensors', 'w3.safetensors']);
  });

  it('stops on cancel, leaving neither the eval set nor scratch files', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const running = importImageFolder(
      { folder: pets, out: path.join(dir, 'c.safetensors'), size: 64, crop: 64, workers: 1 },
      { signal: controller.signal, progress: (p) => p.done === 2 && controller.abort() },
    );
    await expect(running).rejects.toMatchObject({ code: 'cancelled' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('tureen data import: broken input', () => {
  it('names broken files with the reason and skips them', async () => {
    const progress: number[] = [];
    const result = await importImageFolder(
      { folder: broken, out: path.join(tempDir(), 'b.safetensors'), workers: 2 },
      { progress: (p) => progress.push(p.done) },
    );
    expect(result.n).toBe(2);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const reasons = Object.fromEntries(result.skipped.map((s) => [path.relative(broken, s.path), s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['a/text.png', 'a/truncated.jpg', 'b/empty.jpg']);
    expect(reasons['a/text.png']).toMatch(/not an image/);
    expect(reasons['a/truncated.jpg']).toMatch(/truncated|corrupt/);
    expect(reasons['b/empty.jpg']).toMatch(/empty file/);
    expect(Array.from(readEvalSet(result.path).labels)).toEqual([0, 1]);
  });

  it('refuses broken files with --strict, naming the first one', async () => {
    const dir = tempDir();
    await expect(
      importImageFolder({ folder: broken, out: path.join(dir, 'b.safetensors'), strict: true }),
    ).rejects.toMatchObject({
      code: 'bad_evalset',
      detail: { file: path.join(broken, 'a', 'text.png') },
    });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses images of different sizes without --crop, naming both files', async () => {
    const sizes = path.join(fixtures, 'sizes');
    await expect(
      importImageFolder({ folder: sizes, out: path.join(tempDir(), 's.safetensors') }),
    ).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/big\.png is 20x20 but .*small\.png is 12x12; pass --crop/),
    });
  });

  it('refuses a folder without class subfolders and a missing folder', async () => {
    const flat = tempDir();
    fs.writeFileSync(path.join(flat, 'x.png'), '');
    await expect(
      importImageFolder({ folder: flat, out: path.join(flat, 'o.safetensors') }),
    ).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(
      importImageFolder({ folder: path.join(flat, 'nope'), out: path.join(flat, 'o.safetensors') }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('tureen data import on the command line', () => {
  it('prints a tureen/data-import@1 document and lists skipped files on stderr', async () => {
    const dir = tempDir();
    let stdout = '';
    let stderr = '';
    const code = await runCli(
      [
        'data',
        'import',
        broken,
        '--out',
        path.join(dir, 'b.safetensors'),
        '--role',
        'holdout',
        '--mean',
        '0.5',
        '--std',
        '0.5',
        '--json',
        '--db',
        path.join(dir, 'db.sqlite'),
      ],
      { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false },
    );
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      schema: 'tureen/data-import@1',
      path: path.join(dir, 'b.safetensors'),
      name: 'broken',
      role: 'holdout',
      n: 2,
      input: 'image',
      shape: [2, 3, 32, 32],
      classes: ['a', 'b'],
      class_subset: null,
      transform: { image: { scale: 1 / 255, mean: [0.5], std: [0.5], channel_axis: 1 } },
      sha256: readEvalSet(path.join(dir, 'b.safetensors')).hash,
    });
    expect(doc.skipped).toHaveLength(3);
    expect(stderr).toContain(`skipped ${path.join(broken, 'b', 'empty.jpg')}: empty file`);
  });

  it('fails with one line for a bad flag', async () => {
    let stderr = '';
    const code = await runCli(
      ['data', 'import', pets, '--out', path.join(tempDir(), 'x.safetensors'), '--channels', '2'],
      {
        stdout: () => undefined,
        stderr: (t) => (stderr += t),
        isTTY: false,
      },
    );
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/--channels must be 1 or 3/);
  });
});
