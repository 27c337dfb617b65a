import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupFamilies, openIngredient } from '../../../src-main/core/checkpoints/index.js';
import { hyperparametersOf } from '../../../src-main/core/checkpoints/hyperparameters.js';

// docs/your-sweep.md's snippets, run as written by scripts/guide/run_guide_snippets.py with Debian's torch
const root = path.resolve(import.meta.dirname, '../../..');
const python = '/usr/bin/python3';
const hasTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch']).status === 0;

interface GuideRun {
  sweep: string;
  graph: string;
  checkpoints: string[];
  state_dict_keys: string[];
}

describe.skipIf(!hasTorch)('the guide’s PyTorch snippets produce what Tureen binds', () => {
  let run: GuideRun;
  let out: string;
  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-guide-'));
    const stdout = execFileSync(
      python,
      [path.join(root, 'scripts/guide/run_guide_snippets.py'), '--out', out],
      {
        encoding: 'utf8',
      },
    );
    run = JSON.parse(stdout) as GuideRun;
  }, 180_000);
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('every saved checkpoint binds to the exported graph; only num_batches_tracked is left over', () => {
    expect(run.checkpoints).toHaveLength(2);
    for (const file of run.checkpoints) {
      const ingredient = openIngredient(file);
      expect(ingredient.format).toBe('pytorch');
      expect(ingredient.graphPath).toBe(run.graph);
      expect(ingredient.pickle!.stateDictKey).toBe('state_dict');
      expect(ingredient.unmatched).toEqual({ notInGraph: ['bn.num_batches_tracked'], notInCheckpoint: [] });
      expect(ingredient.tensors.map((t) => t.name)).toEqual(run.state_dict_keys);
    }
  });

  it('the runs are one family, with no folded BatchNorm', async () => {
    const { families, mismatches } = await groupFamilies(run.checkpoints.map((f) => openIngredient(f)));
    expect(mismatches).toEqual([]);
    expect(families).toHaveLength(1);
    expect(families[0]!.members).toHaveLength(2);
    expect(families[0]!.warnings.map((w) => w.code)).not.toContain('folded_batchnorm');
  });

  it('the lr=… folder names become hyperparameters', () => {
    expect(run.checkpoints.map((f) => hyperparametersOf(f, run.sweep).values.lr).sort()).toEqual([
      0.0001, 0.001,
    ]);
  });
});
