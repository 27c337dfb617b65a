import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTureen } from './run-cli.js';
import { torchFixtures } from './torch-fixtures.js';

/**
 * A soup cooked from PyTorch checkpoints' EMA weights (--ema) records the hashes of those weights; its
 * replay must open the EMA weights again. It opened the raw ones and refused the checkpoint as changed.
 */
const TIMM = 'timm/run-a/checkpoint-3.pth.tar';
let tmp: string;
let db: string;
let kitchen: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-ema-replay-'));
  db = path.join(tmp, 'db.sqlite');
  kitchen = path.join(tmp, 'kitchen');
  for (const rel of ['graph.onnx', TIMM]) {
    fs.mkdirSync(path.dirname(path.join(kitchen, rel)), { recursive: true });
    fs.copyFileSync(path.join(torchFixtures, rel), path.join(kitchen, rel));
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** a safetensors file's tensor bytes (its header names its own recipe file, so headers differ) */
function tensorBytes(file: string): Buffer {
  const bytes = fs.readFileSync(file);
  return bytes.subarray(8 + Number(bytes.readBigUInt64LE(0)));
}

describe('a soup of EMA weights', () => {
  it('records which checkpoints gave EMA weights and replays to the same weights', async () => {
    const file = path.join(kitchen, TIMM);
    const out = path.join(tmp, 'ema-soup.safetensors');
    const cooked = await runTureen(db, ['cook', 'uniform', file, '--ema', '--out', out, '--json']);
    expect(cooked.code, cooked.stdout + cooked.stderr).toBe(0);
    const recipe = JSON.parse(fs.readFileSync(`${out}.recipe.json`, 'utf8')) as {
      ingredients: Array<{ path: string; ema?: boolean }>;
      outputs: Array<{ sha256: string }>;
    };
    expect(recipe.ingredients).toEqual([expect.objectContaining({ path: file, ema: true })]);

    const again = path.join(tmp, 'ema-soup-again.safetensors');
    const replayed = await runTureen(db, [
      'cook',
      '--recipe',
      `${out}.recipe.json`,
      '--out',
      again,
      '--json',
    ]);
    expect(replayed.code, replayed.stdout + replayed.stderr).toBe(0);
    expect(tensorBytes(again).equals(tensorBytes(out))).toBe(true);

    // the raw weights are another soup: a raw cook records no ema and gives other bytes
    const raw = path.join(tmp, 'raw-soup.safetensors');
    const rawCook = await runTureen(db, ['cook', 'uniform', file, '--out', raw, '--json']);
    expect(rawCook.code, rawCook.stdout + rawCook.stderr).toBe(0);
    const rawRecipe = JSON.parse(fs.readFileSync(`${raw}.recipe.json`, 'utf8')) as {
      ingredients: Array<{ ema?: boolean }>;
    };
    expect(rawRecipe.ingredients[0]!.ema).toBeUndefined();
    expect(tensorBytes(raw).equals(tensorBytes(out))).toBe(false);
  }, 120_000);
});
