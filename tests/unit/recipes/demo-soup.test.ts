import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { CompareTable } from '../../../src-main/common/api/recipes.js';
import { groupFamilies, openIngredient } from '../../../src-main/core/checkpoints/index.js';
import { discover } from '../../../src-main/core/checkpoints/discover.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { ensureHostBuilt } from '../inference/build-host.js';

// Tureen's numbers on the default demo kitchen, the LP-FT sweep in the regime where soups work
// (resources/demo-soup, written by `scripts/demo/make_demo.py --kitchen soup`), against PyTorch's numbers
// in its reference.json. Skipped when the kitchen is not there.
const resources = path.resolve(import.meta.dirname, '../../../resources');
const demo = path.join(resources, 'demo-soup');
const referenceFile = path.join(demo, 'reference.json');
const present = fs.existsSync(referenceFile);

interface SetMetrics {
  n: number;
  correct: number;
  top1: number;
  top5: number | null;
  /** null only for non-finite logits (Tureen's side); PyTorch's reference values are all finite */
  nll: number | null;
  ece: number | null;
}
interface Reference {
  eval_sets: Record<string, { path: string; role: string; n: number; sha256: string }>;
  models: Record<string, { kind: string; sha256: string; sets: Record<string, SetMetrics> }>;
  uniform_soup: { ingredients: string[]; sets: Record<string, SetMetrics> };
  greedy_soup: {
    steps: Array<{ candidate: string; holdout_correct: number; accepted: boolean }>;
    ingredients: string[];
    sets: Record<string, SetMetrics>;
  };
  ensemble: { members: string[]; sets: Record<string, SetMetrics> };
  best_single: { path: string };
}

/**
 * ONNX Runtime and PyTorch run the same float32 network with different kernels, so NLL and ECE differ by
 * float32 rounding; 1e-6 is the DESIGN.md bound (the same as for resources/demo, same network).
 */
const TOLERANCE = 1e-6;

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe.skipIf(!present)('the LP-FT demo kitchen (resources/demo-soup)', () => {
  const reference = present ? (JSON.parse(fs.readFileSync(referenceFile, 'utf8')) as Reference) : null!;

  it('is one family of ONNX and safetensors runs with its base, hashes as PyTorch recorded', async () => {
    const found = discover(demo);
    const { families, mismatches } = await groupFamilies(
      found.checkpoints.map((c) => openIngredient(c.path)),
    );
    expect(mismatches).toEqual([]);
    expect(families).toHaveLength(1);
    const family = families[0]!;
    expect(family.base?.path).toBe(path.join(demo, 'base', 'model.onnx'));
    const runs = Object.entries(reference.models).filter(([, m]) => m.kind !== 'base');
    expect(family.members.map((m) => path.relative(demo, m.path)).sort()).toEqual(
      runs.map(([p]) => p).sort(),
    );
    for (const m of [...family.members, family.base!])
      expect(await m.sha256()).toBe(reference.models[path.relative(demo, m.path)]!.sha256);
  });

  it('is registered on first start before resources/demo, so the workbench opens on it', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-first-start-'));
    const kitchen = new Kitchen({ transport: 'cli', dataDir: home });
    try {
      const { kitchens } = await kitchen.call('kitchens:list', {});
      const shipped = [demo, path.join(resources, 'demo')].filter((d) => fs.existsSync(d));
      expect(kitchens.map((k) => [k.path, k.isDemo])).toEqual(shipped.map((d) => [fs.realpathSync(d), true]));
    } finally {
      kitchen.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("evaluates on resources/demo's eval set files, byte for byte", () => {
    for (const [name, set] of Object.entries(reference.eval_sets)) {
      const own = sha256(path.join(demo, set.path));
      expect(own, name).toBe(set.sha256);
      const other = path.join(resources, 'demo', set.path);
      if (fs.existsSync(other)) expect(sha256(other), name).toBe(own);
    }
  });

  describe("Tureen's compare agrees with PyTorch (reference.json)", () => {
    let table: z.output<typeof CompareTable>;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-demo-soup-'));
    let kitchen: Kitchen;

    beforeAll(async () => {
      ensureHostBuilt();
      kitchen = new Kitchen({ transport: 'cli', dataDir: tmp, demoKitchen: null });
      // Only the rows PyTorch computed: no learned soup, no merge methods (they would double the run time).
      table = await kitchen.run('compare:run', {
        folders: [demo],
        learnedBudget: 0,
        methods: ['uniform', 'greedy'],
      });
    }, 900_000);
    afterAll(() => {
      kitchen?.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    const close = (got: SetMetrics | null | undefined, want: SetMetrics, what: string) => {
      expect(got, what).toBeTruthy();
      expect(got!.n, what).toBe(want.n);
      expect(got!.correct, what).toBe(want.correct);
      expect(got!.nll, `${what} nll`).not.toBeNull();
      expect(Math.abs(got!.nll! - want.nll!), `${what} nll`).toBeLessThan(TOLERANCE);
      expect(got!.ece, `${what} ece`).not.toBeNull();
      expect(Math.abs(got!.ece! - want.ece!), `${what} ece`).toBeLessThan(TOLERANCE);
      if (want.top5 !== null) expect(Math.abs(got!.top5! - want.top5), `${what} top5`).toBeLessThan(1e-9);
    };
    const row = (kind: string) => table.rows.find((r) => r.kind === kind)!;

    it('every model on every set', () => {
      for (const [model, ref] of Object.entries(reference.models)) {
        const found = table.rows.find(
          (r) => (r.kind === 'ingredient' || r.kind === 'base') && r.ingredients[0] === model,
        );
        expect(found, model).toBeDefined();
        for (const [set, want] of Object.entries(ref.sets))
          close(found!.metrics[set], want, `${model} on ${set}`);
      }
    });

    it('best single, uniform soup, greedy soup and the logit ensemble', () => {
      expect(row('best_single').ingredients).toEqual([reference.best_single.path]);
      expect([...row('uniform_soup').ingredients].sort()).toEqual(
        [...reference.uniform_soup.ingredients].sort(),
      );
      for (const [set, want] of Object.entries(reference.uniform_soup.sets))
        close(row('uniform_soup').metrics[set], want, `uniform soup on ${set}`);
      expect(row('greedy_soup').ingredients).toEqual(reference.greedy_soup.ingredients);
      for (const [set, want] of Object.entries(reference.greedy_soup.sets))
        close(row('greedy_soup').metrics[set], want, `greedy soup on ${set}`);
      for (const [set, want] of Object.entries(reference.ensemble.sets))
        close(row('ensemble').metrics[set], want, `ensemble on ${set}`);
      expect(row('ensemble').relativeCost).toBe(reference.ensemble.members.length);
    });

    it('greedy steps match PyTorch', async () => {
      const recipe = await kitchen.call('recipes:get', { id: row('greedy_soup').recipeId! });
      const [start, ...steps] = recipe.recipe.steps!;
      // reference.json lists the tried candidates; Tureen also records the starting ingredient as step 0
      expect([start!.candidate, start!.holdout_correct]).toEqual([
        reference.best_single.path,
        reference.models[reference.best_single.path]!.sets.holdout!.correct,
      ]);
      expect(steps.map((s) => [s.candidate, s.holdout_correct, s.accepted])).toEqual(
        reference.greedy_soup.steps.map((s) => [s.candidate, s.holdout_correct, s.accepted]),
      );
    });
  });
});
