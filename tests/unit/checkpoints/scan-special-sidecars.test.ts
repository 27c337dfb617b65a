import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, tureenBin } from '../cli/build-cli.js';
import { torchFixtures } from './torch-fixtures.js';

/**
 * Special files named like the files a scan reads besides checkpoints (issue 9, section 2): a FIFO called
 * hparams.json, config.json, trainer_state.json, summary.csv, hparam_info.json, hparams.yaml or
 * training_args.bin beside good PyTorch checkpoints, and a FIFO called model.pt. Reading any of them would
 * block forever, and a block inside a synchronous read cannot be interrupted in-process, so the scan runs as
 * a child process (the command a user runs: CLI → service → store) with a deadline.
 */
let tmp: string;
let db: string;
let kitchen: string;
beforeAll(() => {
  ensureCliBuilt([
    'core/checkpoints/hyperparameters',
    'core/checkpoints/read-range',
    'core/checkpoints/torch/checkpoint',
    'core/checkpoints/torch/zip',
    'core/checkpoints/scan',
  ]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-special-sidecars-'));
  db = path.join(tmp, 'db.sqlite');
  kitchen = path.join(tmp, 'kitchen');
  const copy = (from: string, to: string) => {
    fs.mkdirSync(path.dirname(path.join(kitchen, to)), { recursive: true });
    fs.copyFileSync(path.join(torchFixtures, from), path.join(kitchen, to));
  };
  const fifo = (to: string) => {
    fs.mkdirSync(path.dirname(path.join(kitchen, to)), { recursive: true });
    execFileSync('mkfifo', [path.join(kitchen, to)]);
  };
  copy('graph.onnx', 'graph.onnx');
  // model-soups layout with its hparam_info.json a FIFO
  copy('soups/model_0.pt', 'soups/model_0.pt');
  copy('soups/model_1.pt', 'soups/model_1.pt');
  fifo('soups/hparam_info.json');
  // plain folders whose sidecars are FIFOs
  copy('soups/model_0.pt', 'run-hparams/model.pt');
  fifo('run-hparams/hparams.json');
  fifo('run-hparams/config.json');
  fifo('run-hparams/args.yaml');
  // HF Trainer checkpoint with FIFO trainer_state.json and training_args.bin
  copy('hf/checkpoint-10/pytorch_model.bin', 'hf/checkpoint-10/pytorch_model.bin');
  fifo('hf/checkpoint-10/trainer_state.json');
  fifo('hf/checkpoint-10/training_args.bin');
  // timm with a FIFO summary.csv
  copy('timm/run-a/checkpoint-3.pth.tar', 'timm/checkpoint-3.pth.tar');
  fifo('timm/summary.csv');
  // Lightning with a FIFO hparams.yaml two levels up
  copy(
    'lightning/lightning_logs/version_0/checkpoints/epoch=2-step=30.ckpt',
    'lightning/version_0/checkpoints/epoch=2-step=30.ckpt',
  );
  fifo('lightning/version_0/hparams.yaml');
  // a FIFO named like a checkpoint
  fifo('broken/model.pt');
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Run the built `tureen` with a deadline; a run that blocks is killed and reported as such. */
function tureen(
  argv: string[],
  deadlineMs: number,
): Promise<{ code: number | null; timedOut: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tureenBin, ...argv, '--db', db], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr });
    });
  });
}

interface ScanJson {
  checkpoints: Array<{
    relativePath: string;
    format: string | null;
    error: unknown;
    hyperparameters: Record<string, unknown>;
  }>;
  ignored: Array<{ path: string; reason: string }>;
}

describe('tureen scan with FIFOs named like sidecars and checkpoints', () => {
  it('finishes, names each special file with its reason, and stores the good checkpoints', async () => {
    const run = await tureen(['scan', kitchen, '--json'], 30_000);
    expect(run.timedOut, 'the scan blocked on a FIFO').toBe(false);
    expect(run.code, run.stderr).toBe(0);
    const scan = JSON.parse(run.stdout) as ScanJson;
    const stored = Object.fromEntries(scan.checkpoints.map((c) => [c.relativePath, c]));
    expect(Object.keys(stored).sort()).toEqual([
      'hf/checkpoint-10/pytorch_model.bin',
      'lightning/version_0/checkpoints/epoch=2-step=30.ckpt',
      'run-hparams/model.pt',
      'soups/model_0.pt',
      'soups/model_1.pt',
      'timm/checkpoint-3.pth.tar',
    ]);
    for (const c of scan.checkpoints) {
      expect(c.error, c.relativePath).toBeNull();
      expect(c.format, c.relativePath).toBe('pytorch');
    }
    // what the folder names still give, the FIFOs did not take away
    expect(stored['hf/checkpoint-10/pytorch_model.bin']!.hyperparameters.step).toBe(10);
    expect(stored['lightning/version_0/checkpoints/epoch=2-step=30.ckpt']!.hyperparameters).toMatchObject({
      epoch: 2,
      step: 30,
    });
    const ignored = new Map(scan.ignored.map((i) => [path.relative(kitchen, i.path), i.reason]));
    for (const special of [
      'broken/model.pt',
      'soups/hparam_info.json',
      'run-hparams/hparams.json',
      'run-hparams/config.json',
      'run-hparams/args.yaml',
      'hf/checkpoint-10/trainer_state.json',
      'hf/checkpoint-10/training_args.bin',
      'timm/summary.csv',
      'lightning/version_0/hparams.yaml',
    ])
      expect(ignored.get(special), special).toBe('a FIFO (named pipe); Tureen reads only regular files');

    // the store kept them: a second run lists the same checkpoints as unchanged
    const again = await tureen(['scan', kitchen, '--json'], 30_000);
    expect(again.timedOut).toBe(false);
    expect((JSON.parse(again.stdout) as { stats: Array<{ reused: number }> }).stats[0]!.reused).toBe(6);
  }, 150_000);
});
