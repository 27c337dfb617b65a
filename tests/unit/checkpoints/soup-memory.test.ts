import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSoupFits, memoryLimitBytes } from '../../../src-main/core/checkpoints/accumulator.js';
import { runTureen } from './run-cli.js';

/**
 * A soup's float32 sums are one model's weights in memory. Two checkpoints that declare 8 GiB tensors
 * (sparse files: real sizes on disk, no blocks) used to be hashed whole and then summed until the machine
 * ran out of memory; now the cook is refused at once, naming the file, the size and the limit.
 */
let dir: string;
const ELEMENTS = 2 ** 31; // 8 GiB of float32

function sparseSafetensors(file: string): void {
  const header = JSON.stringify({ w: { dtype: 'F32', shape: [ELEMENTS], data_offsets: [0, ELEMENTS * 4] } });
  const padded = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, length);
  fs.writeSync(fd, padded);
  fs.ftruncateSync(fd, 8 + padded.length + ELEMENTS * 4);
  fs.closeSync(fd);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-soup-memory-'));
  fs.mkdirSync(path.join(dir, 'sweep'));
  sparseSafetensors(path.join(dir, 'sweep', 'run-a.safetensors'));
  sparseSafetensors(path.join(dir, 'sweep', 'run-b.safetensors'));
});

afterAll(() => {
  delete process.env.TUREEN_MEMORY_LIMIT_MB;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a soup larger than memory', () => {
  it('is refused by tureen cook before any weights are read, naming the file, the size and the limit', async () => {
    process.env.TUREEN_MEMORY_LIMIT_MB = '4096';
    const started = Date.now();
    const out = path.join(dir, 'soup.safetensors');
    const res = await runTureen(path.join(dir, 'db.sqlite'), [
      'cook',
      'uniform',
      path.join(dir, 'sweep'),
      '--out',
      out,
    ]);
    delete process.env.TUREEN_MEMORY_LIMIT_MB;
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('run-a.safetensors');
    expect(res.stderr).toContain('2,147,483,648 parameters needs 8.0 GiB');
    expect(res.stderr).toContain('4.0 GiB this process may use');
    // hashing the two 8 GiB files alone took 43 s before the check moved ahead of it
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fs.readdirSync(dir).filter((f) => f.includes('soup'))).toEqual([]);
  }, 30_000);

  it('asks for float64 sums only when they fit, and counts 8 bytes per parameter for them', () => {
    const limit = 10 * 2 ** 30;
    expect(() => assertSoupFits(2 ** 31, 'f32', 'x', limit)).not.toThrow(); // 8 GiB ≤ 80 % of 10 GiB
    expect(() => assertSoupFits(2 ** 31, 'f64', 'x', limit)).toThrow(
      /16\.0 GiB .*float64 sums.*without --precision f64/,
    );
    expect(() => assertSoupFits(2 ** 31 + 2 ** 28, 'f32', 'x', limit)).toThrow(/9\.0 GiB/);
  });

  it('takes the limit from TUREEN_MEMORY_LIMIT_MB, else the machine (or its cgroup)', () => {
    expect(memoryLimitBytes({ TUREEN_MEMORY_LIMIT_MB: '512' })).toBe(512 * 2 ** 20);
    expect(memoryLimitBytes({})).toBeLessThanOrEqual(os.totalmem());
    expect(memoryLimitBytes({})).toBeGreaterThan(0);
  });
});
