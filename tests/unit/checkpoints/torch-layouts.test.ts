import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hyperparametersOf } from '../../../src-main/core/checkpoints/hyperparameters.js';
import { torchExpected, torchFixtures } from './torch-fixtures.js';

const expected = torchExpected();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-layouts-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('hyperparameters from the folder layouts trainers leave', () => {
  // the generator wrote each layout's side files and lists what they say
  it.each(Object.entries(expected.hyperparameters))('%s', (rel, want) => {
    const { values } = hyperparametersOf(path.join(torchFixtures, rel), torchFixtures);
    expect(values).toMatchObject(want);
  });

  it('names where each value came from', () => {
    const sourcesOf = (rel: string) =>
      hyperparametersOf(path.join(torchFixtures, rel), torchFixtures).sources;
    expect(sourcesOf('hf/checkpoint-10/pytorch_model.bin')).toEqual(
      expect.arrayContaining(['config.json', 'trainer_state.json', 'checkpoint-N', 'training_args.bin']),
    );
    expect(sourcesOf('timm/run-a/checkpoint-3.pth.tar')).toEqual(['args.yaml', 'summary.csv']);
    expect(sourcesOf('lightning/lightning_logs/version_0/checkpoints/epoch=2-step=30.ckpt')).toEqual([
      'epoch=2-step=30',
      '../hparams.yaml',
    ]);
    expect(sourcesOf('soups/model_1.pt')).toEqual(['hparam_info.json']);
  });

  it('timm model_best.pth.tar takes the summary row with the best eval_top1', () => {
    const run = path.join(tmp, 'timm');
    fs.mkdirSync(run);
    fs.writeFileSync(
      path.join(run, 'summary.csv'),
      'epoch,train_loss,eval_loss,eval_top1\n0,2.0,1.9,50.5\n1,1.5,1.2,71.0\n2,1.2,1.3,69.0\n',
    );
    fs.writeFileSync(path.join(run, 'model_best.pth.tar'), '');
    expect(hyperparametersOf(path.join(run, 'model_best.pth.tar'), tmp).values).toEqual({
      epoch: 1,
      train_loss: 1.5,
      eval_loss: 1.2,
      eval_top1: 71,
    });
  });

  it('names with key=value parts: underscores in keys, Lightning dashes, exponents', async () => {
    const { hyperparametersFromName } = await import('../../../src-main/core/checkpoints/hyperparameters.js');
    expect(hyperparametersFromName('lr=1e-5_weight_decay=0.1')).toEqual({ lr: 1e-5, weight_decay: 0.1 });
    expect(hyperparametersFromName('epoch=2-step=30-val_loss=0.125')).toEqual({
      epoch: 2,
      step: 30,
      val_loss: 0.125,
    });
    expect(hyperparametersFromName('run-a')).toEqual({});
  });
});
