import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { EvaluationRecord } from '../../../src-main/common/api/evaluations.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { tempDir } from '../foundation/helpers.js';
import { ensureHostBuilt } from '../inference/build-host.js';

// The demo's Fashion-MNIST test set, written out as a folder of PNGs (one subfolder per label) and imported
// back: the import must give the model the same pixels, so every model gets the same correct counts as on
// the safetensors set built directly from those pixels.
const demo = path.resolve(import.meta.dirname, '../../../resources/demo');
const source = path.join(demo, 'data', 'test.safetensors');
const models = ['run-01', 'run-05'].map((prefix) => {
  const run = fs.readdirSync(path.join(demo, 'sweep')).find((r) => r.startsWith(prefix))!;
  return path.join(demo, 'sweep', run, 'model.onnx');
});
const dir = tempDir('tureen-import-fashion-');
let kitchen: Kitchen;

beforeAll(() => {
  ensureHostBuilt();
  kitchen = new Kitchen({ transport: 'cli', dataDir: path.join(dir, 'data'), demoKitchen: null });
});
afterAll(() => {
  kitchen.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function writePngFolder(folder: string): Promise<number[]> {
  const set = readEvalSet(source);
  const image = set.batch(0, set.n).inputs.find((i) => i.name === 'image')!;
  expect(image.shape.slice(1)).toEqual([1, 28, 28]);
  const per = 28 * 28;
  for (let label = 0; label < 10; label++)
    fs.mkdirSync(path.join(folder, String(label)), { recursive: true });
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < set.n; i++) {
    const pixels = Buffer.from(image.bytes.subarray(i * per, (i + 1) * per));
    const file = path.join(folder, String(set.labels[i]), `${String(i).padStart(5, '0')}.png`);
    writes.push(
      sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(file),
    );
  }
  await Promise.all(writes);
  // ImageFolder order: label folders by name, files by name (= original index within a label).
  return Array.from(set.labels.keys()).sort((a, b) => set.labels[a]! - set.labels[b]! || a - b);
}

type Evaluation = z.output<typeof EvaluationRecord>;
async function evaluate(evalset: string): Promise<Evaluation[]> {
  return (await kitchen.run('evaluations:run', { models, evalsets: [evalset], threads: 1 })).evaluations;
}

describe('an imported PNG folder of Fashion-MNIST test images', () => {
  it('holds the same pixels and evaluates to the same correct counts as the safetensors eval set', async () => {
    const folder = path.join(dir, 'fashion-png');
    const order = await writePngFolder(folder);
    const out = path.join(dir, 'fashion-imported.safetensors');
    const { jobId } = await kitchen.call('evalsets:import', {
      folder,
      out,
      channels: 1,
      mean: [0.2841],
      std: [0.3541],
      role: 'id',
      workers: 2,
    });
    const job = await kitchen.jobs.wait(jobId);
    expect(job.error).toBeNull();
    expect(job.progress).toMatchObject({ done: 2000, total: 2000, unit: 'images' });

    const original = readEvalSet(source);
    const imported = readEvalSet(out);
    expect(imported.n).toBe(original.n);
    expect(imported.transforms).toEqual(original.transforms);
    const per = 28 * 28;
    const a = original.batch(0, original.n).inputs[0]!.bytes;
    const b = imported.batch(0, imported.n).inputs[0]!.bytes;
    let rowsEqual = 0;
    order.forEach((from, to) => {
      if (
        Buffer.compare(a.subarray(from * per, (from + 1) * per), b.subarray(to * per, (to + 1) * per)) === 0
      )
        rowsEqual++;
      expect(imported.labels[to]).toBe(original.labels[from]);
    });
    expect(rowsEqual).toBe(original.n);

    const direct = await evaluate(source);
    const viaImport = await evaluate(out);
    const correct = (e: Evaluation) => Math.round(e.top1 * e.n);
    console.log(
      `correct of ${original.n}: direct ${direct.map(correct).join(', ')}; imported ${viaImport.map(correct).join(', ')}; import ${JSON.stringify((job.result as { seconds: number }).seconds)} s`,
    );
    for (const [i, e] of direct.entries()) {
      const other = viaImport[i]!;
      expect(other.model.path).toBe(e.model.path);
      expect(correct(other)).toBe(correct(e));
      expect(other.perClass).toEqual(e.perClass);
      expect(other.nll).toBeCloseTo(e.nll!, 6);
    }
  });
});
