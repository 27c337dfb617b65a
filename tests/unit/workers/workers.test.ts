import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import { sha256File } from '../../../src-main/core/checkpoints/hashing.js';
import { openFamily } from '../../../src-main/core/checkpoints/open-family.js';
import { averageIngredients, writeSoup } from '../../../src-main/core/checkpoints/soup.js';
import { WorkerPool, resetWorkerPool, workerPool } from '../../../src-main/core/workers/pool.js';
import { ensureCliBuilt } from '../cli/build-cli.js';

// The worker layer must give the bits the calling thread gives, and both the bits NumPy computes.
const PYTHON = '/usr/bin/python3';
const N = 5;
const SHAPES: Array<[string, number, 'f32' | 'f16']> = [
  ['a.weight', 3, 'f32'],
  ['b.weight', 1003, 'f32'],
  ['c.weight', 1_100_000, 'f32'], // over one 4 MiB read: split across reads and tasks
  ['d.bias', 7, 'f32'],
  ['e.half', 513, 'f16'],
];

let dir: string;
let files: string[];
let reference: Buffer;

beforeAll(() => {
  ensureCliBuilt(['core/workers/worker', 'core/workers/ops', 'core/workers/run-task', 'core/tensors/simd']);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-workers-'));
  execFileSync(PYTHON, [path.resolve('scripts/fixtures/make_worker_soup.py'), dir, String(N)]);
  files = Array.from({ length: N }, (_, i) =>
    path.join(dir, `ckpt${String(i).padStart(2, '0')}.safetensors`),
  );
  reference = fs.readFileSync(path.join(dir, 'reference.bin'));
}, 120_000);

afterAll(async () => {
  delete process.env.TUREEN_WORKERS;
  await resetWorkerPool();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function withWorkers(setting: string): Promise<void> {
  process.env.TUREEN_WORKERS = setting;
  await resetWorkerPool();
}

/** The uniform soup's float bytes per tensor, as toBufferShared lays them out, and the soup written to disk. */
async function cookUniform(out: string) {
  const opened = await openFamily(files);
  const parts = opened.members.map((ingredient) => ({ ingredient, coefficient: 1 / N }));
  const { weights, scale } = await averageIngredients(opened.family, parts);
  const buffer = await weights.toBufferShared(scale);
  const tensors = new Map<string, Buffer>();
  for (const e of weights.layout.entries)
    tensors.set(e.name, Buffer.from(buffer.subarray(e.offset, e.offset + e.byteLength)));
  const written = await writeSoup({
    family: opened.family,
    weights,
    scale,
    outputs: [out],
    recipe: {
      method: 'uniform',
      params: {},
      ingredients: parts.map((p) => ({
        path: p.ingredient.path,
        bytes: p.ingredient.bytes,
        sha256: 'x',
        coefficient: p.coefficient,
      })),
    },
  });
  return { tensors, output: written.outputs[0]! };
}

function referenceTensors(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  for (const [name, count, dtype] of SHAPES) {
    const bytes = count * (dtype === 'f16' ? 2 : 4);
    out.set(name, reference.subarray(at, at + bytes));
    at += bytes;
  }
  return out;
}

describe('worker threads', () => {
  it('cook a uniform soup bit-identical to NumPy and to the same code in the calling thread', async () => {
    await withWorkers('2');
    expect(workerPool()?.size).toBe(2);
    const viaWorkers = await cookUniform(path.join(dir, 'workers', 'soup.safetensors'));
    await withWorkers('0');
    expect(workerPool()).toBeNull();
    const inThread = await cookUniform(path.join(dir, 'thread', 'soup.safetensors'));

    const expected = referenceTensors();
    for (const [name] of SHAPES) {
      expect(viaWorkers.tensors.get(name)!.equals(expected.get(name)!), `${name} vs NumPy`).toBe(true);
      expect(inThread.tensors.get(name)!.equals(expected.get(name)!), `${name} in thread`).toBe(true);
    }
    // the files (same name, other folders) are the same bytes, and the sha256 computed while writing is the file's
    const a = fs.readFileSync(viaWorkers.output.path);
    expect(a.equals(fs.readFileSync(inThread.output.path))).toBe(true);
    expect(viaWorkers.output.sha256).toBe(createHash('sha256').update(a).digest('hex'));
  });

  it('hash files on a worker exactly as sha256sum does', async () => {
    await withWorkers('2');
    const digest = await sha256File(files[0]!);
    expect(digest).toBe(createHash('sha256').update(fs.readFileSync(files[0]!)).digest('hex'));
  });

  it('report NaN found by a worker naming the file, tensor and element', async () => {
    await withWorkers('2');
    const bad = path.join(dir, 'bad', 'ckpt.safetensors');
    fs.mkdirSync(path.dirname(bad));
    const bytes = fs.readFileSync(files[1]!);
    const header = Number(bytes.readBigUInt64LE(0));
    const json = JSON.parse(bytes.subarray(8, 8 + header).toString()) as Record<
      string,
      { data_offsets: [number, number] }
    >;
    // element 1_000_000 of c.weight: in a later read than the first
    bytes.writeFloatLE(Number.NaN, 8 + header + json['c.weight']!.data_offsets[0] + 4 * 1_000_000);
    fs.writeFileSync(bad, bytes);
    const opened = await openFamily([files[0]!, bad]);
    const parts = opened.members.map((ingredient) => ({ ingredient, coefficient: 0.5 }));
    const error = await averageIngredients(opened.family, parts).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).message).toContain(`${bad}: tensor "c.weight"`);
    expect((error as TureenError).message).toContain('element 1000000 is NaN');
  });
});

describe('a worker script that cannot load', () => {
  it('runs the tasks in the calling thread instead of failing the cook', async () => {
    const broken = path.join(dir, 'broken-worker.mjs');
    fs.writeFileSync(broken, "import './no-such-module.js';\n");
    const pool = new WorkerPool(broken, 2);
    const bytes = new Uint8Array([1, 2, 3]);
    const digest = await pool.run<string>(() => ({ op: 'hash-parts', parts: ['graph', bytes] }));
    expect(digest).toBe(createHash('sha256').update('graph').update(bytes).digest('hex'));
    expect(pool.fallback).toMatch(/no-such-module/);
    // and the next ones too
    const again = await pool.run<string>(() => ({ op: 'hash-parts', parts: ['x'] }));
    expect(again).toBe(createHash('sha256').update('x').digest('hex'));
    await pool.close();
  });
});
