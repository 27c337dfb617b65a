import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { randomMlp, writeMlp } from './build-onnx.js';
import { runTureen } from './run-cli.js';
import { torchExpected, torchFixtures } from './torch-fixtures.js';

/**
 * Issue 11 on the whole path (CLI → service → store → CLI output): a scan warns about pickles that name
 * code-running globals (never run) and about EMA weights beside the raw ones; `--ema` evaluates the EMA
 * weights; `--family` picks one family of a folder that holds several. Fixtures and the expected accuracies
 * come from torch.save and PyTorch (scripts/fixtures/make_torch_checkpoints.py).
 */
const expected = torchExpected();
const HOSTILE = ['hostile/os-system.pt', 'hostile/builtins-exec.pt', 'hostile/subprocess.pt'];
const SUSPICIOUS = /^(posix|os|nt|subprocess|commands)\.|^(__builtin__|builtins)\.(exec|eval)$/;
const TIMM = 'timm/run-a/checkpoint-3.pth.tar';

let tmp: string;
let db: string;
let kitchen: string;
let previousHome: string | undefined;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-torch-warnings-'));
  db = path.join(tmp, 'db.sqlite');
  kitchen = path.join(tmp, 'kitchen');
  for (const rel of ['graph.onnx', ...HOSTILE, TIMM, 'soups/model_0.pt', 'soups/model_1.pt']) {
    fs.mkdirSync(path.dirname(path.join(kitchen, rel)), { recursive: true });
    fs.copyFileSync(path.join(torchFixtures, rel), path.join(kitchen, rel));
  }
  previousHome = process.env.TUREEN_HOME;
  process.env.TUREEN_HOME = path.join(tmp, 'home');
});
afterAll(() => {
  if (previousHome === undefined) delete process.env.TUREEN_HOME;
  else process.env.TUREEN_HOME = previousHome;
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Warning {
  path: string;
  code: string;
  message: string;
  globals?: string[];
}
interface ScanDoc {
  checkpoints: Array<{ path: string; warnings: Array<Omit<Warning, 'path'>> }>;
  warnings: Warning[];
  stats: Array<{ read: number; reused: number }>;
}

describe('tureen scan warnings for PyTorch checkpoints', () => {
  it('names the code-running globals of hostile pickles (running none) and the EMA weights, from the store too', async () => {
    for (const rel of HOSTILE) fs.rmSync(expected.hostile[rel]!.marker, { force: true });
    const first = await runTureen(db, ['scan', kitchen, '--json']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const again = await runTureen(db, ['scan', kitchen, '--json']);
    const human = await runTureen(db, ['scan', kitchen]);
    for (const doc of [first.json, again.json] as unknown as ScanDoc[]) {
      const byPath = new Map<string, Warning[]>();
      for (const w of doc.warnings) byPath.set(w.path, [...(byPath.get(w.path) ?? []), w]);
      for (const rel of HOSTILE) {
        const dangerous = expected.hostile[rel]!.globals.filter((g) => SUSPICIOUS.test(g));
        expect(byPath.get(path.join(kitchen, rel)), rel).toEqual([
          expect.objectContaining({ code: 'pickle_globals', globals: dangerous }),
        ]);
        expect(byPath.get(path.join(kitchen, rel))![0]!.message).toContain(dangerous[0]);
      }
      const timm = byPath.get(path.join(kitchen, TIMM));
      expect(timm?.map((w) => w.code)).toEqual(['ema_weights']);
      expect(timm![0]!.message).toContain('state_dict_ema');
      // plain state dicts carry none, and every warning is on its checkpoint too
      expect(byPath.has(path.join(kitchen, 'soups/model_0.pt'))).toBe(false);
      expect(doc.checkpoints.flatMap((c) => c.warnings.map((w) => ({ path: c.path, ...w })))).toEqual(
        doc.warnings,
      );
    }
    // the second scan read nothing again: its warnings came from the store
    expect((again.json as unknown as ScanDoc).stats[0]).toMatchObject({ read: 0, reused: 6 });
    expect(human.stdout).toContain(`warning (pickle_globals): ${path.join(kitchen, 'hostile/os-system.pt')}`);
    expect(human.stdout).toContain(`warning (ema_weights): ${path.join(kitchen, TIMM)}`);
    for (const rel of HOSTILE)
      expect(fs.existsSync(expected.hostile[rel]!.marker), `${rel} ran its payload`).toBe(false);
  }, 120_000);
});

describe('--ema and --family', () => {
  const holdout = () => path.join(torchFixtures, expected.eval.set);

  it('tureen eval --ema evaluates the EMA weights; without it the raw ones (PyTorch counts)', async () => {
    const file = path.join(kitchen, TIMM);
    const top1 = async (extra: string[]) => {
      const run = await runTureen(db, ['eval', file, '--data', holdout(), ...extra, '--json']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const [row] = (run.json as { evaluations: Array<{ n: number; top1: number }> }).evaluations;
      return Math.round(row!.top1 * row!.n);
    };
    expect(await top1([])).toBe(expected.eval.correct[TIMM]);
    expect(await top1(['--ema'])).toBe(expected.eval.correct[`${TIMM}#ema`]);
    expect(expected.eval.correct[TIMM]).not.toBe(expected.eval.correct[`${TIMM}#ema`]);
    // a checkpoint without EMA weights given by name is refused with --ema, saying so
    const plain = await runTureen(db, [
      'eval',
      path.join(kitchen, 'soups/model_0.pt'),
      '--data',
      holdout(),
      '--ema',
    ]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain('no EMA weights');
  }, 120_000);

  it('--family picks one family of a folder that holds several; the refusal lists them', async () => {
    const mixed = path.join(tmp, 'mixed');
    for (const seed of [1, 2, 3]) writeMlp(path.join(mixed, `mlp-${seed}`, 'model.onnx'), randomMlp(seed));
    for (const rel of ['graph.onnx', 'soups/model_0.pt', 'soups/model_1.pt']) {
      fs.mkdirSync(path.dirname(path.join(mixed, 'torch', rel)), { recursive: true });
      fs.copyFileSync(path.join(torchFixtures, rel), path.join(mixed, 'torch', rel));
    }
    const refused = await runTureen(db, ['similarity', mixed]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('pick one with --family <number>');
    expect(refused.stderr).toMatch(/1\. [0-9a-f]+: 3 checkpoints, first mlp-1\/model\.onnx/);
    expect(refused.stderr).toMatch(/2\. [0-9a-f]+: 2 checkpoints, first torch\/soups\/model_0\.pt/);

    const similarity = async (family: string) => {
      const run = await runTureen(db, ['similarity', mixed, '--family', family, '--json']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      return (run.json as { paths: string[] }).paths.map((p) => path.relative(mixed, p));
    };
    expect(await similarity('1')).toEqual(['mlp-1/model.onnx', 'mlp-2/model.onnx', 'mlp-3/model.onnx']);
    expect(await similarity('2')).toEqual(['torch/soups/model_0.pt', 'torch/soups/model_1.pt']);
    const id = /2\. ([0-9a-f]+):/.exec(refused.stderr)![1]!;
    expect(await similarity(id.slice(0, 6))).toEqual(['torch/soups/model_0.pt', 'torch/soups/model_1.pt']);

    const unknown = await runTureen(db, ['similarity', mixed, '--family', '9']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('--family 9: no such family');

    // compare: the refusal, then the family picked
    const compare = (extra: string[]) =>
      runTureen(db, [
        'compare',
        mixed,
        '--holdout',
        holdout(),
        '--learned-budget',
        '0',
        '--methods',
        'uniform,greedy',
        ...extra,
      ]);
    const compareRefused = await compare([]);
    expect(compareRefused.code).not.toBe(0);
    expect(compareRefused.stderr).toContain('pick one with --family <number>');
    const compared = await compare(['--family', '2', '--json']);
    expect(compared.code, compared.stdout + compared.stderr).toBe(0);
    const compareRows = (compared.json as { rows: Array<{ kind: string; ingredients: string[] }> }).rows;
    expect(compareRows.filter((r) => r.kind === 'ingredient').flatMap((r) => r.ingredients)).toEqual([
      'torch/soups/model_0.pt',
      'torch/soups/model_1.pt',
    ]);

    // eval opens each input on its own: --family picks within the folder
    const evaluated = await runTureen(db, ['eval', mixed, '--data', holdout(), '--family', '2', '--json']);
    expect(evaluated.code, evaluated.stdout + evaluated.stderr).toBe(0);
    const rows = (evaluated.json as { evaluations: Array<{ model: string; n: number; top1: number }> })
      .evaluations;
    expect(rows.map((r) => path.relative(mixed, r.model)).sort()).toEqual([
      'torch/soups/model_0.pt',
      'torch/soups/model_1.pt',
    ]);
    for (const r of rows)
      expect(Math.round(r.top1 * r.n)).toBe(
        expected.eval.correct[path.relative(path.join(mixed, 'torch'), r.model)],
      );
  }, 120_000);
});

describe('tureen advise --graph', () => {
  it('binds state dicts to the graph given when none lies beside them', async () => {
    const bare = path.join(tmp, 'bare');
    fs.mkdirSync(bare);
    for (const name of ['model_0.pt', 'model_1.pt'])
      fs.copyFileSync(path.join(torchFixtures, 'soups', name), path.join(bare, name));
    const holdout = path.join(torchFixtures, expected.eval.set);
    const without = await runTureen(db, ['advise', bare, '--holdout', holdout, '--no-greedy']);
    expect(without.code).not.toBe(0);
    const run = await runTureen(db, [
      'advise',
      bare,
      '--holdout',
      holdout,
      '--graph',
      path.join(torchFixtures, 'graph.onnx'),
      '--no-greedy',
      '--json',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const doc = run.json as { ingredients: Array<{ path: string; holdout_top1: number }> };
    for (const name of ['model_0.pt', 'model_1.pt']) {
      const row = doc.ingredients.find((i) => i.path === path.join(bare, name));
      expect(Math.round(row!.holdout_top1 * expected.eval.n), name).toBe(
        expected.eval.correct[`soups/${name}`],
      );
    }
  }, 120_000);
});

describe("a kitchen's EMA setting (the app's per-kitchen default)", () => {
  it('evaluates EMA weights where a checkpoint has them and raw ones elsewhere; a request can still say raw', async () => {
    const folder = path.join(tmp, 'ema-kitchen');
    for (const rel of ['graph.onnx', TIMM, 'soups/model_0.pt']) {
      fs.mkdirSync(path.dirname(path.join(folder, rel)), { recursive: true });
      fs.copyFileSync(path.join(torchFixtures, rel), path.join(folder, rel));
    }
    const kitchen = new Kitchen({ transport: 'cli', dataDir: path.join(tmp, 'app'), demoKitchen: null });
    try {
      const registered = await kitchen.call('kitchens:register', { path: folder });
      const root = registered.path; // the real path
      const counts = async (request: { ema?: boolean }) => {
        const { evaluations } = await kitchen.run('evaluations:run', {
          models: [root],
          evalsets: [path.join(torchFixtures, expected.eval.set)],
          ...request,
        });
        return Object.fromEntries(
          evaluations.map((e) => [path.relative(root, e.model.path!), Math.round(e.top1! * e.n)]),
        );
      };
      const raw = {
        [TIMM]: expected.eval.correct[TIMM],
        'soups/model_0.pt': expected.eval.correct['soups/model_0.pt'],
      };
      expect(await counts({})).toEqual(raw);
      expect((await kitchen.call('kitchens:setEma', { id: registered.id, ema: true })).ema).toBe(true);
      expect((await kitchen.call('kitchens:list', {})).kitchens[0]!.ema).toBe(true);
      // the checkpoint without EMA weights stays in, with its raw weights
      expect(await counts({})).toEqual({ ...raw, [TIMM]: expected.eval.correct[`${TIMM}#ema`] });
      expect(await counts({ ema: false })).toEqual(raw);
      // the comparison (and the cook behind its soups) takes the default too
      const table = await kitchen.run('compare:run', {
        folders: [root],
        holdout: path.join(torchFixtures, expected.eval.set),
        learnedBudget: 0,
        methods: ['uniform'],
      });
      const timmRow = table.rows.find((r) => r.kind === 'ingredient' && r.ingredients[0] === TIMM)!;
      expect(Object.values(timmRow.metrics)[0]!.correct).toBe(expected.eval.correct[`${TIMM}#ema`]);
      await kitchen.call('kitchens:setEma', { id: registered.id, ema: false });
      expect(await counts({})).toEqual(raw);
      // a removed kitchen's setting does not pass to the next one that gets its id
      await kitchen.call('kitchens:setEma', { id: registered.id, ema: true });
      await kitchen.call('kitchens:remove', { id: registered.id });
      const again = await kitchen.call('kitchens:register', { path: folder });
      expect((await kitchen.call('kitchens:list', {})).kitchens.find((k) => k.id === again.id)!.ema).toBe(
        false,
      );
    } finally {
      kitchen.close();
    }
  }, 120_000);
});
