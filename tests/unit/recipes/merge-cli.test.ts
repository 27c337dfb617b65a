import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { ensureHostBuilt, fixtureDir } from '../inference/build-host.js';

/**
 * `tureen cook <method>` on the evaluation kitchen (ONNX models, a base in base/, eval sets by role),
 * against the NumPy merges of the same files (tests/fixtures/methods/make_method_fixtures.py).
 */
const kitchenDir = path.join(fixtureDir, 'kitchen');
const methods = path.resolve(__dirname, '../../fixtures/methods');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-merge-cli-'));
const db = ['--db', path.join(tmp, 'cli.sqlite')];
const data = (name: string) => path.join(kitchenDir, 'data', `${name}.safetensors`);

/** Tensors of a safetensors file (F32 or F64), read with a parser of the test's own. */
function readTensors(file: string): Map<string, Float64Array> {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const out = new Map<string, Float64Array>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const copy = Uint8Array.from(
      bytes.subarray(8 + length + entry.data_offsets[0], 8 + length + entry.data_offsets[1]),
    );
    if (entry.dtype === 'F32') out.set(name, Float64Array.from(new Float32Array(copy.buffer)));
    else if (entry.dtype === 'F64') out.set(name, new Float64Array(copy.buffer));
  }
  return out;
}
const expected = readTensors(path.join(methods, 'kitchen-expected.safetensors'));

async function cli(argv: string[]): Promise<Record<string, unknown>> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...argv, '--json', ...db], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  expect(code, stderr + stdout).toBe(0);
  return JSON.parse(stdout) as Record<string, unknown>;
}

function worstDifference(file: string, name: string): number {
  const got = readTensors(file);
  let worst = 0;
  let tensors = 0;
  for (const [key, want] of expected) {
    if (!key.startsWith(`${name}/`)) continue;
    const values = got.get(key.slice(name.length + 1))!;
    expect(values.length, key).toBe(want.length);
    for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(values[k]! - want[k]!));
    tensors++;
  }
  expect(tensors).toBe(4);
  return worst;
}

interface CookDoc {
  schema: string;
  recipe: {
    method: string;
    params: Record<string, unknown>;
    base?: { path: string; sha256: string } | null;
    ingredients: Array<{ path: string }>;
    search?: { param: string; chosen: number; points: Array<{ value: number; holdout_correct: number }> };
  };
  evaluations: Array<{ data: string }>;
  outputs: Array<{ path: string; sha256: string }>;
}

beforeAll(() => {
  ensureHostBuilt();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('tureen cook <merge method>', () => {
  const runs = (names: string[]) => names.map((n) => path.join(kitchenDir, 'sweep', n, 'model.onnx'));
  const cases: Array<[string, string[]]> = [
    ['ties', [kitchenDir, '--density', '0.5', '--lambda', '1']],
    ['task-arithmetic', [kitchenDir, '--lambda', '0.5']],
    ['model-stock', [kitchenDir]],
    [
      'slerp',
      [...runs(['run-00', 'run-01']), '--t', '0.3', '--holdout', data('holdout'), '--eval', data('test')],
    ],
  ];
  for (const [method, args] of cases) {
    it(`${method}: the written soup is within 2e-6 of NumPy, evaluated, and the recipe replays bit for bit`, async () => {
      const out = path.join(tmp, `${method}.safetensors`);
      const doc = (await cli(['cook', method, ...args, '--out', out])) as unknown as CookDoc;
      expect(doc.schema).toBe('tureen/cook@1');
      expect(doc.recipe.method).toBe(method);
      expect(doc.recipe.ingredients).toHaveLength(method === 'slerp' ? 2 : 6);
      if (method !== 'slerp') expect(doc.recipe.base!.path).toBe(path.join(kitchenDir, 'base', 'model.onnx'));
      expect(doc.evaluations.map((e) => e.data).sort()).toEqual(
        method === 'slerp' ? ['holdout', 'test'] : ['holdout', 'shift-noise', 'shift-subset', 'test'],
      );
      expect(worstDifference(out, method)).toBeLessThanOrEqual(2e-6);
      const replayed = path.join(tmp, `${method}-replayed.safetensors`);
      const again = (await cli(['cook', '--recipe', `${out}.recipe.json`, '--out', replayed])) as {
        recipe: { method: string };
      };
      expect(again.recipe.method).toBe(method);
      // the same floats (the files differ only in the recipe name in their metadata)
      const first = readTensors(out);
      const second = readTensors(replayed);
      expect([...second.keys()]).toEqual([...first.keys()]);
      for (const [name, values] of first)
        expect(Buffer.from(second.get(name)!.buffer).equals(Buffer.from(values.buffer)), name).toBe(true);
    });
  }

  it('--search lambda scores every grid point on the held-out set and keeps the best', async () => {
    const doc = (await cli([
      'cook',
      'task-arithmetic',
      kitchenDir,
      '--search',
      'lambda=0:1:0.25',
    ])) as unknown as CookDoc;
    const search = doc.recipe.search!;
    expect(search.param).toBe('lambda');
    expect(search.points.map((p) => p.value)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const best = Math.max(...search.points.map((p) => p.holdout_correct));
    expect(search.chosen).toBe(search.points.find((p) => p.holdout_correct === best)!.value);
    expect(doc.recipe.params.lambda).toBe(search.chosen);
    const holdout = doc.evaluations.find((e) => e.data === 'holdout') as unknown as {
      n: number;
      top1: number;
    };
    expect(Math.round(holdout.top1 * holdout.n)).toBe(best);
  });

  it('refuses a replay when an ingredient changed', async () => {
    const copy = path.join(tmp, 'changed');
    fs.cpSync(kitchenDir, copy, { recursive: true });
    const out = path.join(tmp, 'changed-ties.safetensors');
    await cli(['cook', 'ties', copy, '--out', out]);
    // another run's weights under run-01's name
    fs.copyFileSync(path.join(copy, 'sweep/run-02/model.onnx'), path.join(copy, 'sweep/run-01/model.onnx'));
    let stderr = '';
    const code = await runCli(
      ['cook', '--recipe', `${out}.recipe.json`, '--out', path.join(tmp, 'x.safetensors'), ...db],
      {
        stdout: () => undefined,
        stderr: (t) => (stderr += t),
        isTTY: false,
      },
    );
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/run-01\/model\.onnx changed since the recipe was cooked .*refusing to replay/);
  });
});

describe('merge methods in a comparison', () => {
  it('cooks them with the same code as tureen cook: same params, search curve and weights', async () => {
    const kitchen = new Kitchen({
      transport: 'cli',
      dataDir: path.join(tmp, 'kitchen-data'),
      demoKitchen: null,
    });
    try {
      const table = await kitchen.run('compare:run', {
        folders: [kitchenDir],
        methods: ['uniform', 'task-arithmetic', 'slerp'],
      });
      expect(table.rows.filter((r) => !['ingredient', 'base'].includes(r.kind)).map((r) => r.kind)).toEqual([
        'best_single',
        'oracle',
        'uniform_soup',
        'merge',
        'ensemble',
        'greedy_ensemble',
      ]);
      expect(table.warnings.join('\n')).toContain(
        'slerp left out: it needs exactly 2 ingredients, the sweep has 6',
      );
      const row = table.rows.find((r) => r.kind === 'merge')!;
      expect(row.method).toBe('task-arithmetic');
      const fromCompare = (await kitchen.call('recipes:get', { id: row.recipeId! })).recipe;
      const cooked = await kitchen.run('recipes:cook', {
        method: 'task-arithmetic',
        ingredients: [kitchenDir],
        search: 'lambda=0.2:1.6:0.2',
      });
      expect(cooked.recipe.params).toEqual(fromCompare.params);
      expect(cooked.recipe.search).toEqual(fromCompare.search);
      expect(cooked.recipe.base).toEqual(fromCompare.base);
      expect(cooked.recipe.weights_sha256).toBe(fromCompare.weights_sha256);
      expect(fromCompare.search!.points).toHaveLength(8);
      // saving the stored recipe runs the method again: the very weights that were evaluated
      const saved = await kitchen.run('recipes:saveSoup', {
        id: row.recipeId!,
        out: path.join(tmp, 'saved-task-arithmetic.onnx'),
      });
      expect(saved.same_weights_as_evaluated).toBe(true);
    } finally {
      kitchen.close();
    }
  });
});
